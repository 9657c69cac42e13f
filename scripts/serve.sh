#!/usr/bin/env bash
# Serve the system for `make run`: a Celery worker (with beat) when Redis answers, then the
# Django server. Without Redis, tasks run in-process (CELERY_TASK_ALWAYS_EAGER).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
worker_pid=""
if "$BIN/python" -c "import redis,sys; redis.Redis.from_url('$REDIS_URL', socket_connect_timeout=1).ping()" 2>/dev/null; then
    export REDIS_URL
    "$BIN/celery" -A config worker -B --loglevel=INFO --concurrency=2 \
        --schedule=.celerybeat-schedule >celery.log 2>&1 &
    worker_pid=$!
    trap '[ -n "$worker_pid" ] && kill "$worker_pid" 2>/dev/null || true' EXIT
    worker_note="Celery worker and beat running against $REDIS_URL (log: celery.log)"
else
    unset REDIS_URL
    worker_note="Redis not reachable: Celery tasks run in-process"
fi

cat <<MSG

  浙江省数字技术工程师培育项目 — development server
  Admin:    http://127.0.0.1:8000/admin/
  API:      http://127.0.0.1:8000/api/v1/   (docs: http://127.0.0.1:8000/api/docs/)
  $worker_note

  Demo logins (password for all: demo-pass-2024):
    province      provincial staff (省人社厅)
    hz_reviewer   Hangzhou bureau reviewer (杭州市人社局)
    nb_reviewer   Ningbo bureau reviewer (宁波市人社局)
    hdu_clerk     institution staff, 杭州电子科技大学
    eval_clerk    evaluation staff
    trainee       a trainee
    admin         superuser

MSG
exec "$BIN/python" manage.py runserver 127.0.0.1:8000
