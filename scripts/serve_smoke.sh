#!/usr/bin/env bash
# The reference project started as deployed (issue 11), checked from outside (CI, after the fuzzer).
#
# With config.settings.production (DEBUG off, a random DJANGO_SECRET_KEY, HTTPS behind a proxy:
# requests carry the proxy's X-Forwarded-Proto: https) against a fresh PostgreSQL database
# (SMOKE_DB, dropped and created here), migrated, static files collected into a temp dir:
#
# 1. start-up refusals: gunicorn without DJANGO_SECRET_KEY exits non-zero with the settings'
#    message; the local settings with DJANGO_DEBUG=0 refuse the public development key;
# 2. `manage.py check --deploy --fail-level WARNING`: clean;
# 3. gunicorn (config/gunicorn.py) on 127.0.0.1:<free port>: the Swagger UI page (200 HTML)
#    and the sidecar JS and CSS it references, the admin's log-in page and its CSS (200, the
#    right content type, gzip when asked, hashed names cached for ever), a plain-HTTP request
#    redirected to HTTPS, HSTS sent, an unknown static file 404; then the checks of
#    extra_checks (the place for /healthz and /metrics);
# 4. Celery as operators run it: a worker and beat (the DatabaseScheduler: the migrated
#    periodic tasks) in the repository; beat sends the 10 s rollup, a task sent by name has its
#    result read back with `celery -A config result <id>` (Redis result backend), and neither
#    wrote anything into the working tree.
#
# Stops every process it started at exit. Exit 1 on the first failed check.
#
# Usage: scripts/serve_smoke.sh
# Environment: SMOKE_DB (saka_serve_smoke), PG_URL (postgres://postgres@127.0.0.1:5432),
#   SMOKE_REDIS_URL (REDIS_URL, else redis://127.0.0.1:6379/0: broker and results),
#   SMOKE_PORT (a free one), SMOKE_OUT (a temp dir: logs, static files), PYTHON (.venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
BIN="$(dirname "$PYTHON")"
SMOKE_DB="${SMOKE_DB:-saka_serve_smoke}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
SMOKE_OUT="${SMOKE_OUT:-$(mktemp -d -t saka-serve.XXXXXX)}"
HOST=127.0.0.1
PORT="${SMOKE_PORT:-$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
BASE="http://$HOST:$PORT"
mkdir -p "$SMOKE_OUT"

export DJANGO_SETTINGS_MODULE=config.settings.production
DJANGO_SECRET_KEY="$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(50))')"
export DJANGO_SECRET_KEY
export DJANGO_ALLOWED_HOSTS="$HOST,localhost"
export DATABASE_URL="$PG_URL/$SMOKE_DB"
export REDIS_URL="${SMOKE_REDIS_URL:-${REDIS_URL:-redis://127.0.0.1:6379/0}}"
export DJANGO_STATIC_ROOT="$SMOKE_OUT/static"
export GUNICORN_BIND="$HOST:$PORT" WEB_CONCURRENCY=2
# the workers' metrics summed at scrape time (docs/observability.md)
export PROMETHEUS_MULTIPROC_DIR="$SMOKE_OUT/prometheus"
mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
export PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}"
unset SAKA_SECURE_SSL_REDIRECT CELERY_TASK_ALWAYS_EAGER  # the production defaults

say() { printf '%s\n' "serve-smoke: $*"; }
fail() {
  say "FAILED: $*"
  exit 1
}

pids=()
stop_all() {
  local pid
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
trap stop_all EXIT

# wait_for_log FILE PATTERN PID SECONDS: until FILE has PATTERN; fails if PID died or time is up
wait_for_log() {
  local file="$1" pattern="$2" pid="$3" seconds="$4" i
  for i in $(seq 1 $((seconds * 2))); do
    grep -q -- "$pattern" "$file" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { tail -30 "$file"; fail "process $pid ended before '$pattern'"; }
    sleep 0.5
  done
  tail -30 "$file"
  fail "no '$pattern' in $file after ${seconds}s"
}

# --- 1. start-up refusals ---------------------------------------------------------------------
say "start-up without DJANGO_SECRET_KEY"
if env -u DJANGO_SECRET_KEY timeout 60 "$BIN/gunicorn" -c config/gunicorn.py \
  >"$SMOKE_OUT/no-key.log" 2>&1; then
  fail "gunicorn started without DJANGO_SECRET_KEY"
fi
grep -q "ImproperlyConfigured: DJANGO_SECRET_KEY must be set in production." "$SMOKE_OUT/no-key.log" \
  || { tail -20 "$SMOKE_OUT/no-key.log"; fail "no clear message without DJANGO_SECRET_KEY"; }
say "local settings with DJANGO_DEBUG=0 and the development key"
if env -u DJANGO_SECRET_KEY DJANGO_SETTINGS_MODULE=config.settings.local DJANGO_DEBUG=0 \
  "$PYTHON" manage.py check >"$SMOKE_OUT/dev-key.log" 2>&1; then
  fail "the local settings accepted the development key with DEBUG off"
fi
grep -q "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=0" "$SMOKE_OUT/dev-key.log" \
  || { tail -20 "$SMOKE_OUT/dev-key.log"; fail "no clear message for the development key"; }

# --- 2. the deployment checks -----------------------------------------------------------------
say "manage.py check --deploy --fail-level WARNING"
"$PYTHON" manage.py check --deploy --fail-level WARNING

# --- a fresh database, migrated; static files collected -------------------------------------
psql "$PG_URL/postgres" -qtAc "DROP DATABASE IF EXISTS $SMOKE_DB WITH (FORCE)" >/dev/null
psql "$PG_URL/postgres" -qtAc "CREATE DATABASE $SMOKE_DB" >/dev/null
"$PYTHON" manage.py migrate --noinput -v0
"$PYTHON" manage.py collectstatic --noinput -v0
say "database $SMOKE_DB migrated, static files in $DJANGO_STATIC_ROOT; logs in $SMOKE_OUT"

# --- 3. gunicorn --------------------------------------------------------------------------------
"$BIN/gunicorn" -c config/gunicorn.py >"$SMOKE_OUT/gunicorn.log" 2>&1 &
pids+=("$!")
server_pid=$!
ready=0
for _ in $(seq 1 120); do
  curl -fsS -o /dev/null -H 'X-Forwarded-Proto: https' "$BASE/api/docs/" 2>/dev/null && { ready=1; break; }
  kill -0 "$server_pid" 2>/dev/null || { cat "$SMOKE_OUT/gunicorn.log"; fail "gunicorn ended"; }
  sleep 0.5
done
[ "$ready" = 1 ] || { cat "$SMOKE_OUT/gunicorn.log"; fail "gunicorn did not answer in 60 s"; }
grep -q "Booting worker" "$SMOKE_OUT/gunicorn.log" || fail "not gunicorn's workers"

# fetch PATH [curl args...]: the response's headers into $SMOKE_OUT/h, its body into ./b
fetch() {
  local path="$1"
  shift
  curl -sS -D "$SMOKE_OUT/h" -o "$SMOKE_OUT/b" -H 'X-Forwarded-Proto: https' "$@" "$BASE$path"
}
header() { grep -i "^$1:" "$SMOKE_OUT/h" | head -1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'; }
status() { head -1 "$SMOKE_OUT/h" | cut -d' ' -f2; }
# expect PATH STATUS CONTENT_TYPE_REGEX [BODY_TEXT]: fetched as the proxy would send it
expect() {
  local path="$1" code="$2" type="$3" text="${4:-}"
  fetch "$path"
  [ "$(status)" = "$code" ] || fail "$path: status $(status), expected $code"
  header Content-Type | grep -Eq "$type" || fail "$path: Content-Type '$(header Content-Type)'"
  if [ -n "$text" ]; then grep -q -- "$text" "$SMOKE_OUT/b" || fail "$path: no '$text' in the body"; fi
  say "ok $path: $code $(header Content-Type)"
}
# expect_static PATH TYPE_REGEX: a collected file, hashed name, served compressed and for ever
expect_static() {
  local path="$1" type="$2"
  echo "$path" | grep -Eq '\.[0-9a-f]{12}\.[a-z]+$' || fail "$path: not a hashed name"
  expect "$path" 200 "$type"
  [ -s "$SMOKE_OUT/b" ] || fail "$path: empty"
  header Cache-Control | grep -q "immutable" || fail "$path: Cache-Control '$(header Cache-Control)'"
  fetch "$path" -H 'Accept-Encoding: gzip'
  [ "$(header Content-Encoding)" = gzip ] || fail "$path: not gzip-encoded when asked"
  say "ok $path: gzip"
}

expect /api/docs/ 200 '^text/html' 'id="swagger-ui"'
[ -n "$(header Strict-Transport-Security)" ] || fail "/api/docs/: no HSTS header"
docs="$SMOKE_OUT/docs.html"
cp "$SMOKE_OUT/b" "$docs"
js="$(grep -o 'src="/static/drf_spectacular_sidecar/[^"]*swagger-ui-bundle[^"]*\.js"' "$docs" | head -1 | cut -d'"' -f2)"
css="$(grep -o 'href="/static/drf_spectacular_sidecar/[^"]*\.css"' "$docs" | head -1 | cut -d'"' -f2)"
[ -n "$js" ] && [ -n "$css" ] || fail "/api/docs/: no sidecar JS or CSS referenced"
expect_static "$js" '^(text|application)/javascript'
expect_static "$css" '^text/css'

expect /admin/login/ 200 '^text/html' 'Django administration'
admin_css="$(grep -o 'href="/static/admin/css/base[^"]*\.css"' "$SMOKE_OUT/b" | head -1 | cut -d'"' -f2)"
[ -n "$admin_css" ] || fail "/admin/login/: no admin CSS referenced"
expect_static "$admin_css" '^text/css'
expect /static/admin/css/no-such-file.css 404 '.'

# the staff dashboard's Chart.js (npm ci'd into node_modules/, STATICFILES_DIRS) and its own
# script: collected with hashed names (docs/dashboard.md)
for asset in vendor/chartjs/chart.umd.js saka_dashboard/dashboard.js saka_dashboard/dashboard.css; do
  hashed="$("$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["paths"][sys.argv[2]])' \
    "$DJANGO_STATIC_ROOT/staticfiles.json" "$asset")" || fail "collectstatic did not find $asset"
  case "$asset" in *.css) type='^text/css' ;; *) type='^(text|application)/javascript' ;; esac
  expect_static "/static/$hashed" "$type"
done

curl -sS -D "$SMOKE_OUT/h" -o /dev/null "$BASE/api/docs/"  # plain HTTP, not through the proxy
[ "$(status)" = 301 ] && header Location | grep -q "^https://$HOST:$PORT/api/docs/" \
  || fail "plain HTTP: $(status) $(header Location), expected 301 to https"
say "ok plain HTTP: 301 to $(header Location)"

# The operations endpoints (docs/observability.md): /healthz answers 200 (beat is not running
# here: "degraded", still 200 unless ?strict=1), /metrics from loopback without a token, with
# the domain's series (read from the database at scrape time, or registered at start-up) and
# django-prometheus's, summed over the workers (PROMETHEUS_MULTIPROC_DIR).
extra_checks() {
  expect /healthz 200 '^application/json' '"database"'
  grep -Eq '"status": *"(ok|degraded)"' "$SMOKE_OUT/b" || fail "/healthz: $(cat "$SMOKE_OUT/b")"
  expect '/healthz?strict=1' 503 '^application/json' '"degraded"'
  expect /metrics 200 '^text/plain' 'saka_domain_metrics_up'
  local name
  for name in saka_system_balance_grains saka_runs_unfinished saka_run_chunks saka_runs_stalled \
    saka_run_chunk_duration_seconds_count saka_payment_webhook_events_total \
    django_http_responses_total_by_status_total; do
    grep -q "^$name" "$SMOKE_OUT/b" || fail "/metrics: no $name"
  done
  say "ok /metrics: the domain's series and django-prometheus's"
  # one JSON line per request (the application logs them; gunicorn's access log is off)
  "$PYTHON" - "$SMOKE_OUT/gunicorn.log" <<'PY' || fail "no JSON request line for /admin/login/"
import json, sys
lines = [json.loads(x) for x in open(sys.argv[1]) if x.startswith("{")]
hits = [x for x in lines if x.get("event") == "http.request" and x.get("path") == "/admin/login/"]
sys.exit(0 if hits and all(x["status"] == 200 and "duration_ms" in x for x in hits) else 1)
PY
  say "ok a JSON request line per request in the server's log"
}
extra_checks

stop_all

# --- 4. Celery: a worker, beat from the database, a result read back -------------------------
# every file of the repository written from now on (bytecode caches aside), ignored by git or not
marker="$SMOKE_OUT/celery.start"
touch "$marker"
sleep 1  # the files written after the marker are newer than it, also on a coarse clock
written() {
  find "$ROOT" \( -path "$ROOT/.venv" -o -path "$ROOT/.git" -o -name __pycache__ \) -prune \
    -o -type f -newer "$marker" -print
}
"$BIN/celery" -A config worker --pool=prefork --concurrency=1 -l info -n "smoke@%h" \
  >"$SMOKE_OUT/worker.log" 2>&1 &
pids+=("$!")
worker_pid=$!
"$BIN/celery" -A config beat -l info >"$SMOKE_OUT/beat.log" 2>&1 &
pids+=("$!")
beat_pid=$!
wait_for_log "$SMOKE_OUT/worker.log" " ready." "$worker_pid" 90
wait_for_log "$SMOKE_OUT/beat.log" "DatabaseScheduler" "$beat_pid" 60
# beat runs the migrated periodic tasks: the rollup every 10 s
wait_for_log "$SMOKE_OUT/beat.log" "Sending due task saka-ledger-rollup" "$beat_pid" 60
say "ok beat: the database's schedule (saka-ledger-rollup sent)"
task_id="$(timeout 60 "$BIN/celery" -A config call saka.jobs.tasks.ledger_rollup | tail -1)"
[ -n "$task_id" ] || fail "celery call printed no task id"
timeout 90 "$BIN/celery" -A config result "$task_id" >"$SMOKE_OUT/result.txt" \
  || fail "celery -A config result $task_id"
grep -q "{" "$SMOKE_OUT/result.txt" || fail "result of $task_id: $(cat "$SMOKE_OUT/result.txt")"
say "ok celery -A config result $task_id: $(tr -d '\n' <"$SMOKE_OUT/result.txt")"
stop_all
if [ -n "$(written)" ]; then
  written
  fail "the worker or beat wrote into the working tree"
fi
ls "$ROOT"/celerybeat-schedule* >/dev/null 2>&1 && fail "celerybeat-schedule files in $ROOT"
say "ok nothing written into the working tree"
say "passed"
