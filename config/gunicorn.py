"""gunicorn settings for `make run` and deploy/ (``gunicorn -c config/gunicorn.py``).

One process per core, four threads each: a request is mostly Python (one core per process
under the GIL) with waits on PostgreSQL in between, which the threads fill. More threads do
not answer more requests, they only share the core more thinly: on the 2-core machine 2 x 8
and 2 x 4 served the same 150 requests a second of the load benchmark, and 2 x 4 had the
lower 95th percentile (about 500 ms against 650; 2 x 1 and 2 x 2 lower still, but a slow
request, an upload or an import, would then hold half a process). Extra processes only
compete for the same cores (docs/benchmarks.md).

A process takes at most twice its threads' worth of connections, and answers each request
with ``Connection: close``: the connections beyond wait in the kernel's queue for whichever
process has room. Otherwise the process that happens to accept first keeps its connections
alive for good (43 of 50 clients on one process, 7 on the other, in the load benchmark), and
the clients on the busy one wait twice as long. Behind the proxy (docs/deploy.md), which opens
a connection per request, nothing else changes. Every value can be set from the environment
(``WEB_CONCURRENCY``, ``WEB_THREADS``, ``WEB_CONNECTIONS``, ``WEB_KEEPALIVE``, ``BIND``,
``WEB_TIMEOUT``, ``WEB_MAX_REQUESTS``)."""

import multiprocessing
import os

bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, multiprocessing.cpu_count())))
threads = int(os.environ.get("WEB_THREADS", 4))
worker_connections = int(os.environ.get("WEB_CONNECTIONS", 2 * threads))
worker_class = "gthread"
# A worker that has not checked in with the master for this long (stuck, not merely busy) is
# killed and replaced. With threads this is not a limit on one request: a slow request keeps
# its thread, and what a client waits is bounded by the proxy's read timeout (docs/deploy.md).
# Long work (reports, bulk decisions) runs in Celery, not in a request.
timeout = int(os.environ.get("WEB_TIMEOUT", 60))
graceful_timeout = 30
keepalive = int(os.environ.get("WEB_KEEPALIVE", 0))
# A worker is replaced after this many requests (``WEB_MAX_REQUESTS``; 0: never), so a slow
# leak cannot grow without bound. Not much sooner: a new worker compiles its queries and
# templates again, which at 2,000 cost the load benchmark a tenth of its throughput.
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", 20000))
max_requests_jitter = max_requests // 10
# Bounded request lines and headers; bodies are bounded by Django (DATA_UPLOAD_MAX_MEMORY_SIZE).
limit_request_line = 8190
limit_request_fields = 100
accesslog = os.environ.get("WEB_ACCESS_LOG", "-")
errorlog = "-"
# Trust X-Forwarded-* only from the proxy in front (docs/deploy.md).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
wsgi_app = "config.wsgi:application"
# Django is imported once, before the workers fork: they start at once and share its memory.
# Nothing opens a database connection at import, so no connection is shared across a fork.
preload_app = True
# gunicorn 24+ opens a control socket at one path per user by default: two servers on a host
# would fight over it, and nothing here uses it.
control_socket_disable = True
