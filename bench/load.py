"""Benchmark: the production server under load, against the development server.

    DATABASE_URL=postgres://... REDIS_URL=redis://... python bench/load.py [--clients 50] [--seconds 60]

Builds a fresh database ``<name>_load`` on the PostgreSQL server of ``DATABASE_URL`` (the demo
data set: 11 cities, institutions, plans, 50 trainees and claims in every state, loaded
through the services), starts a Celery worker on ``REDIS_URL``, then for each server in turn
(gunicorn as `make run` starts it, then Django's development server as `make dev` does)
runs ``--clients`` concurrent clients for ``--seconds`` over the URL mix below and prints one
line per server. The last line is the production server's:

    clients=50 rps=… p50_ms=… p95_ms=… errors=… server=gunicorn

Before each server's line, ``# cpu ms per request: …`` gives the CPU time of every process on
the machine (the server, PostgreSQL, the Celery worker, the clients, the rest) per answered
request, from ``/proc``: unlike requests a second, comparable across machines of any speed
or size. An error is a connection failure, a timeout, a 5xx or any status the URL is not
expected to answer. Servers listen on 127.0.0.1:8111 and :8112 only.

``--rate R`` offers R requests a second instead (Poisson arrivals, the same for both servers),
served by the ``--clients`` connections: the 95th percentile at a load both servers can carry,
where what is measured is how long a request waits and runs, not how many a saturated machine
pushes through. Each request's time runs from when it was due, not from when a connection was
free to send it, so a server that falls behind is not flattered (no coordinated omission).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PORTS = {"gunicorn": 8111, "runserver": 8112}

# The URL mix: (weight, method, path, persona, body, statuses that are a correct answer).
# "{claim}" is a claim of the reviewer's city. Each client submits claims as its own trainee
# (every demo trainee gets a login); after the first, a trainee's claims are refused (one
# claim per certificate): a 400/409 with the rule's code is a correct answer, not an error.
MIX = [
    (30, "GET", "/api/v1/claims/", "reviewer", None, {200}),
    (25, "GET", "/api/v1/claims/{claim}/", "reviewer", None, {200}),
    (15, "POST", "/api/v1/claims/", "trainee", "claim", {201, 400, 409}),
    (10, "GET", "/admin/dashboard/", "session", None, {200}),
    (5, "POST", "/api/v1/reports/", "reviewer", "report", {200, 201, 202}),
]
# The trainee service (another branch builds it): included only when it answers 200 at start.
OPTIONAL = [
    (10, "GET", "/", None, None, {200}),
    (5, "GET", "/plans/", None, None, {200}),
]


TRAINEE_LOGINS = """
from django.contrib.auth.hashers import make_password
from accounts.models import Role, User
from accounts.services import user_create
from trainees.models import Trainee
password = make_password("demo-pass-2024")
for trainee in Trainee.objects.select_related("user"):
    if trainee.user is None:
        user = user_create(username=f"bench_trainee_{trainee.pk}", password=None, role=Role.TRAINEE)
        trainee.user = user
        trainee.save(update_fields=["user"])
    elif trainee.user.has_usable_password():
        continue
    # The demo's own trainee logins (demo_rater_*) have no password: give them the bench's.
    User.objects.filter(pk=trainee.user.pk).update(password=password)
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument(
        "--rate",
        type=lambda text: [float(r) for r in text.split(",")],
        help="requests a second offered (Poisson arrivals) instead of clients that never pause; "
        "a list (40,60,90) runs each in turn, up to the first whose p95 is over --p95-ms",
    )
    parser.add_argument("--p95-ms", type=int, default=300, help="the bound on the 95th percentile (300)")
    parser.add_argument("--only", choices=sorted(PORTS), help="run one server only")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    return parser.parse_args(argv)


def _env(database_url: str) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="config.settings",
        CELERY_TASK_ALWAYS_EAGER="0",
        LOG_LEVEL="ERROR",
        WEB_ACCESS_LOG="/dev/null",
        # The benchmark logs in once per persona; a dozen runs must not lock those accounts.
        LOGIN_FAILURE_LIMIT_PER_ADDRESS="1000",
    )
    env.setdefault("SECRET_KEY", "bench-load-" + "x" * 50)
    return env


def _run(args, env, **kwargs):
    return subprocess.run(args, cwd=ROOT, env=env, check=True, **kwargs)


def build_database(base_url: str) -> str:
    parsed = urllib.parse.urlparse(base_url)
    name = parsed.path.lstrip("/") + "_load"
    admin = urllib.parse.urlunparse(parsed._replace(path="/postgres"))
    _run(["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'], dict(os.environ))
    _run(["psql", admin, "-qc", f'CREATE DATABASE "{name}"'], dict(os.environ))
    url = urllib.parse.urlunparse(parsed._replace(path="/" + name))
    env = _env(url)
    _run([str(BIN / "python"), "manage.py", "migrate", "--noinput", "-v0"], env)
    _run([str(BIN / "python"), "manage.py", "load_demo"], env, stdout=subprocess.DEVNULL)
    # A login for every demo trainee: claims are submitted by many people, each under their
    # own row lock, not all by one trainee queueing on the same lock.
    _run([str(BIN / "python"), "manage.py", "shell", "-c", TRAINEE_LOGINS], env, stdout=subprocess.DEVNULL)
    _run([str(BIN / "python"), "manage.py", "collectstatic", "--noinput", "-v0"], env)
    return url


def drop_database(url: str) -> None:
    parsed = urllib.parse.urlparse(url)
    admin = urllib.parse.urlunparse(parsed._replace(path="/postgres"))
    subprocess.run(
        ["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{parsed.path.lstrip("/")}" WITH (FORCE)'],
        check=False,
    )


def start_server(kind: str, env: dict) -> subprocess.Popen:
    port = PORTS[kind]
    if kind == "gunicorn":
        args = [str(BIN / "gunicorn"), "-c", "config/gunicorn.py"]
        env = {**env, "PORT": str(port), "DEBUG": "0"}
    else:
        args = [str(BIN / "python"), "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
        env = {**env, "DEBUG": "1"}
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            status, _ = request(port, "GET", "/health/?format=json")
            if status in (200, 500):
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"{kind} did not answer on port {port} within 60 s")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def cpu_seconds(roots: dict[str, int]) -> dict[int, tuple[str, float]] | None:
    """CPU time (user + system) of every process on the machine, with its role, from
    ``/proc`` (Linux; None elsewhere). ``roots`` names process trees (the server, the Celery
    worker); this process is the clients; PostgreSQL's backends are found by name."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        return None
    tick = os.sysconf("SC_CLK_TCK")
    parent, used, names = {}, {}, {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name, rest = (entry / "stat").read_text().rsplit(")", 1)
        except OSError:
            continue  # ended while we looked
        fields = rest.split()
        pid = int(entry.name)
        parent[pid] = int(fields[1])
        used[pid] = (int(fields[11]) + int(fields[12])) / tick
        names[pid] = name.split("(", 1)[1]
    owners = {root: role for role, root in roots.items()}
    found = {}
    for pid, seconds in used.items():
        role, ancestor = None, pid
        while ancestor > 1 and role is None:
            role = owners.get(ancestor)
            ancestor = parent.get(ancestor, 0)
        if role is None:
            if pid == os.getpid():
                role = "clients"
            else:
                role = "postgres" if names[pid].startswith("postgres") else "other"
        found[pid] = (role, seconds)
    return found


class CpuMeter:
    """Where the machine's CPU goes while it runs, by role: ``/proc`` is read every
    ``interval`` seconds and each process's growth added to its role, so a process that ends
    during the run (a database connection past ``CONN_MAX_AGE``) loses at most one interval."""

    def __init__(self, roots: dict[str, int], interval: float = 0.5):
        self.roots, self.interval = roots, interval
        self.spent: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self.began = time.time()
        self._last = cpu_seconds(self.roots)
        if self._last is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
            self._sample()
        self.seconds = time.time() - self.began

    def _run(self):
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self):
        now = cpu_seconds(self.roots)
        for pid, (role, used) in now.items():
            grown = used - self._last.get(pid, (role, 0.0))[1]
            self.spent[role] = self.spent.get(role, 0.0) + max(grown, 0.0)
        self._last = now

    def line(self, requests: int) -> str:
        """The CPU per answered request: the figure to bring down (docs/benchmarks.md),
        whatever the machine's speed or number of cores."""
        if self._last is None or not requests:
            return "# cpu: not measured (no /proc)"
        order = ("server", "worker", "postgres", "clients", "other")
        parts = " ".join(f"{role}={self.spent.get(role, 0.0) / requests * 1000:.1f}" for role in order)
        everything = sum(self.spent.values())
        return (
            f"# cpu ms per request: {parts} all={everything / requests * 1000:.1f} "
            f"(cores in use: {everything / self.seconds:.2f} of {os.cpu_count()})"
        )


def request(port, method, path, headers=None, body=None, conn=None, timeout=30):
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        return response.status, (data, response)
    finally:
        if own:
            conn.close()


def log_in(port: int) -> dict:
    """Tokens and an admin session, once: a login per client would rotate the token away."""
    personas = {}

    def token(username):
        status, (data, _r) = request(
            port,
            "POST",
            "/api/v1/auth/token/",
            {"Content-Type": "application/json"},
            json.dumps({"username": username, "password": "demo-pass-2024"}),
        )
        assert status == 200, (username, status, data[:200])
        return {"Authorization": f"Token {json.loads(data)['token']}"}

    personas["reviewer"] = token("hz_reviewer")
    # Each login checks a password hash (PBKDF2, about a second of a core on a slow machine),
    # which runs outside the GIL: logging the 50 trainees in side by side uses every core.
    with ThreadPoolExecutor(max_workers=8) as pool:
        personas["trainees"] = list(pool.map(token, trainee_usernames()))
    status, (data, response) = request(port, "GET", "/admin/login/")
    csrf = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', data).group(1).decode()
    cookie = response.getheader("Set-Cookie").split(";")[0]
    form = urllib.parse.urlencode(
        {
            "username": "hz_reviewer",
            "password": "demo-pass-2024",
            "csrfmiddlewaretoken": csrf,
            "next": "/admin/",
        }
    )
    status, (_data, response) = request(
        port,
        "POST",
        "/admin/login/",
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": cookie,
            "Referer": f"http://127.0.0.1:{port}/",
        },
        form,
    )
    assert status == 302, status
    session = [c.split(";")[0] for c in response.msg.get_all("Set-Cookie") if c.startswith("sessionid")][0]
    personas["session"] = {"Cookie": session}
    personas[None] = {}
    return personas


def trainee_usernames() -> list[str]:
    import psycopg

    with psycopg.connect(os.environ["BENCH_DATABASE_URL"]) as conn:
        rows = conn.execute(
            "SELECT u.username FROM accounts_user u JOIN trainees_trainee t ON t.user_id = u.id ORDER BY u.id"
        ).fetchall()
    return [r[0] for r in rows]


def bodies(port: int, personas: dict) -> dict:
    status, (data, _r) = request(port, "GET", "/api/v1/claims/", personas["reviewer"])
    claims = json.loads(data)["results"]
    status, (data, _r) = request(port, "GET", "/api/v1/me/", personas["reviewer"])
    bureau = json.loads(data)["bureau"]
    claim_bodies = []
    for headers in personas["trainees"]:
        status, (data, _r) = request(port, "GET", "/api/v1/level-certificates/", headers)
        level = (json.loads(data).get("results") or [{}])[0].get("id", 1) if status == 200 else 1
        status, (data, _r) = request(port, "GET", "/api/v1/training-certificates/", headers)
        training = (json.loads(data).get("results") or [{}])[0].get("id", 1) if status == 200 else 1
        claim_bodies.append(
            json.dumps({"training_certificate": training, "level_certificate": level, "bureau": bureau})
        )
    return {
        "claim_ids": [c["id"] for c in claims] or [1],
        "claims": claim_bodies,
        "report": json.dumps({"kind": "claims", "period_kind": "month", "period_start": "2025-01-01"}),
    }


def choose_mix(port: int) -> list:
    mix = list(MIX)
    for entry in OPTIONAL:
        try:
            status, _ = request(port, "GET", entry[2], timeout=10)
        except OSError:
            status = None
        included = status == 200
        print(f"# {entry[2]}: {'included' if included else f'left out (answered {status})'}", flush=True)
        if included:
            mix.append(entry)
    return mix


def arrivals(rate: float, seconds: int, seed: int = 11) -> list[float]:
    """When each request is due, in seconds from the start: a Poisson process of ``rate``."""
    rng, due, at = random.Random(seed), [], 0.0
    while True:
        at += rng.expovariate(rate)
        if at >= seconds:
            return due
        due.append(at)


def load(
    port: int, clients: int, seconds: int, mix: list, personas: dict, data: dict, rate: float | None = None
) -> dict:
    weights = [m[0] for m in mix]
    latencies: list[float] = []
    by_path: dict[str, list[float]] = {}
    errors = 0
    samples: list[str] = []
    lock = threading.Lock()
    start_at = time.time() + 1
    stop_at = start_at + seconds
    # At a fixed rate the clients take the next due time in turn; without one each client
    # sends its next request as soon as the last is answered.
    schedule = iter(arrivals(rate, seconds)) if rate else None

    def next_due() -> float | None:
        if schedule is None:
            return time.perf_counter() if time.time() < stop_at else None
        with lock:
            offset = next(schedule, None)
        if offset is None:
            return None
        due = perf_start + offset
        time.sleep(max(0.0, due - time.perf_counter()))
        return due

    def client(seed: int) -> None:
        nonlocal errors
        rng = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, my_errors, my_paths, my_samples = [], 0, {}, []
        while time.time() < start_at:
            time.sleep(0.01)
        while (began := next_due()) is not None:
            _w, method, template, persona, body, expected = rng.choices(mix, weights)[0]
            path = template.replace("{claim}", str(rng.choice(data["claim_ids"])))
            # Each client is one trainee (client i: trainee i), as in real use.
            trainee = seed % len(personas["trainees"])
            headers = dict(personas["trainees"][trainee] if persona == "trainee" else personas[persona])
            payload = None
            if body:
                headers["Content-Type"] = "application/json"
                payload = data["claims"][trainee] if body == "claim" else data[body]
            try:
                status, _ = request(port, method, path, headers, payload, conn=conn)
                ok = status in expected
                what = status
            except (OSError, http.client.HTTPException) as exc:
                ok = False
                what = type(exc).__name__
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            if not ok and len(my_samples) < 3:
                my_samples.append(f"{method} {template}: {what}")
            mine.append(time.perf_counter() - began)
            my_paths.setdefault(f"{method} {template}", []).append(mine[-1])
            my_errors += not ok
        conn.close()
        with lock:
            latencies.extend(mine)
            errors += my_errors
            samples.extend(my_samples)
            for key, values in my_paths.items():
                by_path.setdefault(key, []).extend(values)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    perf_start = time.perf_counter() + (start_at - time.time())
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    count = len(latencies)
    # What the errors were (a status, or the exception of a failed connection), a few of them.
    for sample in sorted(set(samples))[:5]:
        print(f"#   error: {sample}", flush=True)
    for key, values in sorted(by_path.items()):
        values.sort()
        print(
            f"#   {key}: n={len(values)} p50_ms={round(values[len(values) // 2] * 1000)} "
            f"p95_ms={round(values[int(len(values) * 0.95) - 1] * 1000)}",
            flush=True,
        )
    return {
        "clients": clients,
        "rps": round(count / seconds, 1),
        "p50_ms": round(statistics.median(latencies) * 1000) if count else 0,
        "p95_ms": round(latencies[int(count * 0.95) - 1] * 1000) if count else 0,
        "errors": errors,
        "requests": count,
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")) or not os.environ.get("REDIS_URL"):
        raise SystemExit("bench/load.py needs DATABASE_URL=postgres://... and REDIS_URL=redis://...")
    print(f"# load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}", flush=True)
    url = build_database(base)
    os.environ["BENCH_DATABASE_URL"] = url
    env = _env(url)
    worker = subprocess.Popen(
        [str(BIN / "celery"), "-A", "config", "worker", "--concurrency=1", "--loglevel=ERROR"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rates = args.rate or [None]
    results: dict[str, list[dict]] = {}
    try:
        order = [args.only] if args.only else ["runserver", "gunicorn"]
        for kind in order:
            server = start_server(kind, env)
            try:
                port = PORTS[kind]
                personas = log_in(port)
                data = bodies(port, personas)
                mix = choose_mix(port)
                # Warm-up, not measured: every worker process and thread imports, connects
                # and fills its caches before the clock starts.
                load(port, args.clients, max(3, args.seconds // 10), mix, personas, data, rates[0])
                for rate in rates:
                    if rate:
                        print(
                            f"# offered: {rate:g} requests a second (Poisson), {args.clients} connections",
                            flush=True,
                        )
                    with CpuMeter({"server": server.pid, "worker": worker.pid}) as cpu:
                        result = load(port, args.clients, args.seconds, mix, personas, data, rate)
                    print(cpu.line(result["requests"]), flush=True)
                    result.update(server=kind, offered=rate)
                    results.setdefault(kind, []).append(result)
                    print(line(result), flush=True)
                    if rate and not meets(result, args.p95_ms):
                        break  # a higher rate only waits longer
            finally:
                stop(server)
    finally:
        stop(worker)
        if not args.keep:
            drop_database(url)
    if len(results) == 2 and args.rate:
        # The highest rate each server carried with its 95th percentile under the bound.
        dev, prod = (
            max((r for r in rs if meets(r, args.p95_ms)), key=lambda r: r["offered"], default=None)
            for rs in (results["runserver"], results["gunicorn"])
        )
        print(
            f"# highest offered rate with p95 under {args.p95_ms} ms and no errors: "
            f"runserver={dev['offered'] if dev else 'none'} gunicorn={prod['offered'] if prod else 'none'}",
            flush=True,
        )
        if dev and prod:
            print(
                f"# gunicorn/runserver rate under the bound: {prod['offered'] / dev['offered']:.1f}x",
                flush=True,
            )
        print(line(prod or results["gunicorn"][-1]))
    elif len(results) == 2:
        dev, prod = results["runserver"][0], results["gunicorn"][0]
        print(f"# gunicorn/runserver throughput: {prod['rps'] / max(dev['rps'], 0.1):.1f}x", flush=True)
        print(line(prod))
    return 0


def meets(result: dict, p95_ms: int) -> bool:
    return result["errors"] == 0 and result["p95_ms"] < p95_ms


def line(result: dict) -> str:
    """The issue's format: ``clients= rps= p50_ms= p95_ms= errors= server=``."""
    keys = ("clients", "rps", "p50_ms", "p95_ms", "errors", "server")
    return " ".join(f"{k}={result[k]}" for k in keys)


if __name__ == "__main__":
    sys.exit(main())
