#!/usr/bin/env bash
# Serve the system: a Celery worker (with beat) when Redis answers, then the web server:
#   serve.sh production   gunicorn (config/gunicorn.py), static files by whitenoise (`make run`)
#   serve.sh development  Django's autoreloading development server (`make dev`, DEBUG=1)
# Without Redis, tasks run in-process (CELERY_TASK_ALWAYS_EAGER).
# PORT (default 8000) and REDIS_URL (default redis://127.0.0.1:6379/0) may be set.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
PORT=${PORT:-8000}
MODE=${1:-production}
case "$MODE" in
    production) server_note="production server (gunicorn)" ;;
    development) server_note="development server (autoreload, DEBUG on)" ;;
    *) echo "usage: $0 [production|development]" >&2; exit 2 ;;
esac

REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
worker_pid=""
server_pid=""
stop_all() {
    for pid in $server_pid $worker_pid; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
}
# Neither the server nor the worker outlives this script, however it ends (Ctrl-C, kill,
# or the server stopping by itself).
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if "$BIN/python" - "$REDIS_URL" 2>/dev/null <<'PY'; then
import sys

import redis

redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1).ping()
PY
    export REDIS_URL
    "$BIN/celery" -A config worker -B --loglevel=INFO --concurrency=2 \
        --schedule=.celerybeat-schedule >celery.log 2>&1 &
    worker_pid=$!
    worker_note="Celery worker and beat running against $REDIS_URL (pid $worker_pid, log: celery.log)"
else
    unset REDIS_URL
    worker_note="Redis not reachable: Celery tasks run in-process"
fi

cat <<MSG

  浙江省数字技术工程师培育项目 — $server_note
  Admin:    http://127.0.0.1:$PORT/admin/
  API:      http://127.0.0.1:$PORT/api/v1/   (docs: http://127.0.0.1:$PORT/api/docs/)
  Health:   http://127.0.0.1:$PORT/health/
  $worker_note

  Demo logins (password for all: demo-pass-2024):
    admin         superuser
    province      provincial staff (省人社厅)
    hz_reviewer   Hangzhou bureau reviewer (杭州市人社局)
    nb_reviewer   Ningbo bureau reviewer (宁波市人社局)
    hdu_clerk     institution staff, 杭州电子科技大学
    school_clerk  institution staff, 示例数字技能培训学校
    eval_clerk    evaluation staff, 示例专业技术评价中心
    trainee       a trainee (王小明, 杭州)
  More demo users and what each role does: README.md

MSG
# In the background and waited for: the shell stays to stop the worker when the server
# ends, and a signal to the shell is handled at once (not after the server exits).
if [ "$MODE" = production ]; then
    PORT=$PORT "$BIN/gunicorn" -c config/gunicorn.py &
else
    "$BIN/python" manage.py runserver "127.0.0.1:$PORT" &
fi
server_pid=$!
wait "$server_pid"
