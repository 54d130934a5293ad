#!/usr/bin/env bash
# The OpenAPI schema fuzzed against a running reference server (issue 16, spec section 8).
#
# A fresh PostgreSQL database (FUZZ_DB, dropped and created here), migrated, with a little demo
# data and the role users of scripts/fuzz_setup.py; the server (manage.py runserver --noreload,
# DEBUG off, throttles raised) on FUZZ_HOST:FUZZ_PORT; schemathesis (scripts/schemathesis.toml:
# the checks, the phases, the justified adjustments) once per role over every operation of
# /api/schema/: anonymous, member, platform, and one staff user per group (run_operator,
# campaign_settler, saka_adjuster, auditor, poll_manager, policy_maker); the log-out, which
# deletes the caller's token, is left out of those and fuzzed alone by the role logout (a
# token of its own), so no role's token dies halfway through its run. Then saka_reconcile on
# that database.
#
# Prints a summary (per role: operations, test cases, failures, errors), stops the server and
# exits non-zero on any failure, error, server crash or reconcile discrepancy.
#
# Usage: scripts/fuzz.sh   (or make fuzz)
# Environment: FUZZ_DB (saka_fuzz), PG_URL (postgres://postgres@127.0.0.1:5432, the server),
#   FUZZ_HOST (127.0.0.1), FUZZ_PORT (8765), FUZZ_MAX_EXAMPLES (5 per operation and phase),
#   FUZZ_STATEFUL_ROLES (member: the roles that also run the stateful phase), FUZZ_JOBS (2:
#   roles fuzzed at once),
#   FUZZ_ROLES (all of them, space-separated), FUZZ_SEED (random), FUZZ_OUT (a temp dir: logs,
#   JUnit reports, the server's log), PYTHON (.venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
ST="$(dirname "$PYTHON")/schemathesis"
FUZZ_DB="${FUZZ_DB:-saka_fuzz}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
FUZZ_HOST="${FUZZ_HOST:-127.0.0.1}"
FUZZ_PORT="${FUZZ_PORT:-8765}"
FUZZ_MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-5}"
# the stateful phase (sequences linked by ids and Location headers) for these roles only: it
# is the slowest phase, and what it adds (create, read, delete) is the member's own objects
FUZZ_STATEFUL_ROLES="${FUZZ_STATEFUL_ROLES:-member}"
FUZZ_ROLES="${FUZZ_ROLES:-anonymous member platform run_operator campaign_settler saka_adjuster auditor poll_manager policy_maker logout}"
# POST /api/v1/auth/logout/ deletes the caller's token: fuzzed as the role logout only
LOGOUT_OP=v1_auth_logout_create
FUZZ_OUT="${FUZZ_OUT:-$(mktemp -d -t saka-fuzz.XXXXXX)}"
mkdir -p "$FUZZ_OUT"

export DATABASE_URL="$PG_URL/$FUZZ_DB"
export DJANGO_SETTINGS_MODULE=config.settings.local
export DJANGO_DEBUG=0
# DEBUG off refuses the development key: a random one for this run
DJANGO_SECRET_KEY="${DJANGO_SECRET_KEY:-$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(50))')}"
export DJANGO_SECRET_KEY
export SAKA_MEMBER_THROTTLE=1000000/min SAKA_PLATFORM_THROTTLE=1000000/min
export SAKA_PAYMENT_WEBHOOK_SECRET="${SAKA_PAYMENT_WEBHOOK_SECRET:-whsec_fuzz_only}"
export SAKA_HELLOASSO_WEBHOOK_SECRET="${SAKA_HELLOASSO_WEBHOOK_SECRET:-helloasso_fuzz_only}"
export REDIS_URL=""  # no broker: a live run or settlement runs in the server (eager tasks)
export PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}"

say() { printf '%s\n' "fuzz: $*"; }
server_pid=""
stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}
trap stop_server EXIT

# --- a fresh database, migrated, with data and the role users --------------------------------
psql "$PG_URL/postgres" -qtAc "DROP DATABASE IF EXISTS $FUZZ_DB WITH (FORCE)" >/dev/null
psql "$PG_URL/postgres" -qtAc "CREATE DATABASE $FUZZ_DB" >/dev/null
"$PYTHON" manage.py migrate --noinput -v0
"$PYTHON" manage.py saka_demo --members 12 --days 100 >/dev/null
"$PYTHON" scripts/fuzz_setup.py >"$FUZZ_OUT/tokens.json"
say "database $FUZZ_DB ready; reports in $FUZZ_OUT"

# --- the server -------------------------------------------------------------------------------
"$PYTHON" manage.py runserver --noreload "$FUZZ_HOST:$FUZZ_PORT" >"$FUZZ_OUT/server.log" 2>&1 &
server_pid=$!
SCHEMA_URL="http://$FUZZ_HOST:$FUZZ_PORT/api/schema/?format=json"
for _ in $(seq 1 60); do
  curl -fsS -o "$FUZZ_OUT/schema.json" "$SCHEMA_URL" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$FUZZ_OUT/server.log"; exit 1; }
  sleep 0.5
done
curl -fsS -o "$FUZZ_OUT/schema.json" "$SCHEMA_URL"

# --- schemathesis, once per role, FUZZ_JOBS roles at a time ----------------------------------
# (the server is threaded; two schemathesis processes keep both cores busy)
FUZZ_JOBS="${FUZZ_JOBS:-2}"
fuzz_role() {
  local role="$1" token phases
  local -a auth=() seed=() ops=()
  case "$role" in
    anonymous) ;;
    logout) ops=(--include-operation-id "$LOGOUT_OP") ;;
    *) ops=(--exclude-operation-id "$LOGOUT_OP") ;;
  esac
  if [ "$role" != anonymous ]; then
    token="$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
      "$FUZZ_OUT/tokens.json" "$role")"
    auth=(-H "Authorization: Token $token")
  fi
  [ -n "${FUZZ_SEED:-}" ] && seed=(--seed "$FUZZ_SEED")
  phases=examples,coverage,fuzzing
  case " $FUZZ_STATEFUL_ROLES " in *" $role "*) phases="$phases,stateful" ;; esac
  # scripts/schemathesis.toml: checks, phases and the justified adjustments (docs/testing.md)
  if "$ST" --config-file "$ROOT/scripts/schemathesis.toml" run "$SCHEMA_URL" \
    "${auth[@]}" "${ops[@]}" "${seed[@]}" --phases "$phases" --max-examples "$FUZZ_MAX_EXAMPLES" --workers 1 \
    --no-color --report junit --report-junit-path "$FUZZ_OUT/$role.xml" \
    >"$FUZZ_OUT/$role.log" 2>&1; then
    echo 0 >"$FUZZ_OUT/$role.rc"
  else
    echo 1 >"$FUZZ_OUT/$role.rc"
  fi
}
running=0
role_pids=()
for role in $FUZZ_ROLES; do
  if [ "$running" -ge "$FUZZ_JOBS" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  say "role $role"
  fuzz_role "$role" &
  role_pids+=("$!")
  running=$((running + 1))
done
for pid in "${role_pids[@]}"; do wait "$pid" || true; done  # not the server's
status=0
for role in $FUZZ_ROLES; do
  if [ "$(cat "$FUZZ_OUT/$role.rc" 2>/dev/null || echo 1)" != 0 ]; then
    status=1
    say "role $role: failures"
    sed -n '/^Failures:/,/^Reports:/p' "$FUZZ_OUT/$role.log" | sed 's/^/    /'
  fi
done
stop_server
if grep -q "Traceback" "$FUZZ_OUT/server.log"; then
  say "the server logged a traceback (see $FUZZ_OUT/server.log)"
  grep -A3 "Traceback" "$FUZZ_OUT/server.log" | head -20
  status=1
fi

# --- summary, then the books ------------------------------------------------------------------
"$PYTHON" scripts/fuzz_summary.py "$FUZZ_OUT" $FUZZ_ROLES || status=1
if "$PYTHON" manage.py saka_reconcile; then
  say "saka_reconcile: clean"
else
  say "saka_reconcile: DISCREPANCIES"
  status=1
fi
[ "$status" -eq 0 ] && say "passed" || say "FAILED (logs: $FUZZ_OUT/<role>.log)"
exit "$status"
