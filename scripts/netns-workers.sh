#!/usr/bin/env bash
# One compost run shared by worker processes in separate network namespaces.
#
# Not a CI test: a demonstration that the batch engine's fan-out crosses a network. It needs
# root (ip netns, veth, a bridge) and changes nothing of the system PostgreSQL or Redis:
#
#   - a bridge saka-br0 with 10.231.0.1/24 on the host side, and up to 3 namespaces saka-ns1..3
#     (10.231.0.2..4), each joined to the bridge by a veth pair;
#   - socat on 10.231.0.1 forwards PG_FORWARD_PORT to PostgreSQL at 127.0.0.1:5432 and
#     REDIS_FORWARD_PORT to Redis at 127.0.0.1:6379 (socat logs every connection it accepts,
#     with the client's address: that is how the output shows who came from where);
#   - a fresh database (SAKA_NETNS_DB, created here, dropped on exit unless KEEP_DB=1), migrated
#     and seeded with saka_seed; an empty Redis database (REDIS_DB, flushed on exit);
#   - one worker per namespace, its own hostname (unshare --uts), so the chunk rows name it:
#     MODE=celery (default): a Celery worker on the forwarded Redis, sent the run's work by
#       saka.jobs.enqueue.run_workers_enqueue, as beat, the API and the admin do;
#     MODE=join: `manage.py saka_compost --join RUN_ID` (no broker at all).
#   The host opens the run (queued, chunks planned) and the workers do all of it.
#
# It prints the network, the run summary, the chunks done per worker, the connections socat
# accepted per client address, and runs saka_reconcile. Everything it creates goes on exit
# (trap), also after an error or Ctrl-C.
#
# Usage (from anywhere):  sudo scripts/netns-workers.sh
# Environment: WORKERS (1..3, 3), WALLETS (200000), CHUNK_SIZE (2000), MODE (celery|join),
#   PYTHON (the worktree's .venv/bin/python), SAKA_NETNS_DB (saka_netns), KEEP_DB (0),
#   REDIS_DB (5; must be empty, never 0), PG_FORWARD_PORT (15432), REDIS_FORWARD_PORT (16379),
#   RUN_TIMEOUT (600 s), KEEP_LOGS (0; 1 keeps the workers' and forwarders' logs in /tmp).
# Needs: iproute2 (ip), util-linux (unshare), socat, postgresql-client (psql, createdb),
#   redis-tools (redis-cli):  apt-get install -y iproute2 util-linux socat postgresql-client redis-tools

set -Eeuo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
WORKERS="${WORKERS:-3}"
WALLETS="${WALLETS:-200000}"
CHUNK_SIZE="${CHUNK_SIZE:-2000}"
MODE="${MODE:-celery}"
DB="${SAKA_NETNS_DB:-saka_netns}"
KEEP_DB="${KEEP_DB:-0}"
REDIS_DB="${REDIS_DB:-5}"
PG_FORWARD_PORT="${PG_FORWARD_PORT:-15432}"
REDIS_FORWARD_PORT="${REDIS_FORWARD_PORT:-16379}"
RUN_TIMEOUT="${RUN_TIMEOUT:-600}"
KEEP_LOGS="${KEEP_LOGS:-0}"

HOST_IP=10.231.0.1
BRIDGE=saka-br0
PG_LOCAL=127.0.0.1:5432
REDIS_LOCAL=127.0.0.1:6379

say() { printf '%s\n' "$*"; }
die() { printf 'netns-workers: %s\n' "$*" >&2; exit 1; }

# --- checks (before anything is created) ------------------------------------------------------

[[ $EUID -eq 0 ]] || die "run as root (ip netns, veth and a bridge need it)"
for cmd in ip unshare socat psql createdb dropdb redis-cli; do
  command -v "$cmd" >/dev/null || die "$cmd is missing: apt-get install -y iproute2 util-linux socat postgresql-client redis-tools"
done
[[ -x $PYTHON ]] || die "no python at $PYTHON (set PYTHON=...)"
[[ $WORKERS =~ ^[1-3]$ ]] || die "WORKERS must be 1, 2 or 3"
[[ $WALLETS =~ ^[0-9]+$ && $WALLETS -ge 1 && $WALLETS -le 2000000 ]] || die "WALLETS must be in 1..2000000"
[[ $CHUNK_SIZE =~ ^[0-9]+$ && $CHUNK_SIZE -ge 100 ]] || die "CHUNK_SIZE must be an integer >= 100"
[[ $MODE == celery || $MODE == join ]] || die "MODE must be celery or join"
[[ $REDIS_DB =~ ^[0-9]+$ && $REDIS_DB -ne 0 ]] || die "REDIS_DB must be a number other than 0"
[[ $DB =~ ^[a-z_][a-z0-9_]*$ ]] || die "SAKA_NETNS_DB must be a plain lower-case name"
ip link show "$BRIDGE" >/dev/null 2>&1 && die "$BRIDGE exists (another run of this script?)"
for i in 1 2 3; do
  ip netns list | grep -qw "saka-ns$i" && die "namespace saka-ns$i exists (another run of this script?)"
done
psql -h 127.0.0.1 -U postgres -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 \
  && die "database $DB exists: drop it or set SAKA_NETNS_DB"
[[ $(redis-cli -h 127.0.0.1 -p 6379 -n "$REDIS_DB" DBSIZE) == 0 ]] \
  || die "Redis database $REDIS_DB is not empty: choose an empty one with REDIS_DB"

# --- cleanup: whatever was created, in reverse order ------------------------------------------

TMP="$(mktemp -d /tmp/saka-netns.XXXXXX)"
PIDS=()            # workers and forwarders
NAMESPACES=()
BRIDGE_MADE=0
DB_MADE=0
REDIS_USED=0

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for _ in $(seq 1 50); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [[ $alive == 0 ]] && break
    sleep 0.2
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  wait 2>/dev/null
  for ns in "${NAMESPACES[@]}"; do
    ip link del "saka-h${ns#saka-ns}" 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
  [[ $BRIDGE_MADE == 1 ]] && ip link del "$BRIDGE" 2>/dev/null
  [[ $REDIS_USED == 1 ]] && redis-cli -h 127.0.0.1 -p 6379 -n "$REDIS_DB" FLUSHDB >/dev/null 2>&1
  if [[ $DB_MADE == 1 && $KEEP_DB != 1 ]]; then dropdb -h 127.0.0.1 -U postgres --if-exists "$DB"; fi
  if [[ $rc != 0 ]]; then
    say "netns-workers: failed (exit $rc); logs:" >&2
    tail -n 20 "$TMP"/worker-*.log >&2 2>/dev/null
  fi
  if [[ $KEEP_LOGS == 1 ]]; then say "logs kept in $TMP"; else rm -rf "$TMP"; fi
  say "cleanup: workers and forwarders stopped, namespaces, veths and $BRIDGE removed$([[ $DB_MADE == 1 && $KEEP_DB != 1 ]] && printf ', database %s dropped' "$DB")"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local limit=$1 what=$2 start=$SECONDS
  shift 2
  until "$@" >/dev/null 2>&1; do
    (( SECONDS - start < limit )) || die "timed out after ${limit}s waiting for $what"
    sleep 0.2
  done
}

# --- the network --------------------------------------------------------------------------------

ip link add "$BRIDGE" type bridge
BRIDGE_MADE=1
ip addr add "$HOST_IP/24" dev "$BRIDGE"
ip link set "$BRIDGE" up
for i in $(seq 1 "$WORKERS"); do
  ns="saka-ns$i"
  ip netns add "$ns"
  NAMESPACES+=("$ns")
  ip link add "saka-h$i" type veth peer name "saka-n$i"
  ip link set "saka-h$i" master "$BRIDGE" up
  ip link set "saka-n$i" netns "$ns"
  ip -n "$ns" addr add "10.231.0.$((i + 1))/24" dev "saka-n$i"
  ip -n "$ns" link set "saka-n$i" up
  ip -n "$ns" link set lo up
done

socat -d -d -lf "$TMP/socat-pg.log" \
  "TCP-LISTEN:$PG_FORWARD_PORT,bind=$HOST_IP,reuseaddr,fork" "TCP:$PG_LOCAL" &
PIDS+=($!)
socat -d -d -lf "$TMP/socat-redis.log" \
  "TCP-LISTEN:$REDIS_FORWARD_PORT,bind=$HOST_IP,reuseaddr,fork" "TCP:$REDIS_LOCAL" &
PIDS+=($!)

NS_DB_URL="postgres://postgres@$HOST_IP:$PG_FORWARD_PORT/$DB"
NS_REDIS_URL="redis://$HOST_IP:$REDIS_FORWARD_PORT/$REDIS_DB"
for ns in "${NAMESPACES[@]}"; do
  wait_for 10 "PostgreSQL from $ns" ip netns exec "$ns" psql "postgres://postgres@$HOST_IP:$PG_FORWARD_PORT/postgres" -Atc "SELECT 1"
  wait_for 10 "Redis from $ns" ip netns exec "$ns" redis-cli -h "$HOST_IP" -p "$REDIS_FORWARD_PORT" -n "$REDIS_DB" PING
done
REDIS_USED=1

say "== network"
say "host: $BRIDGE $HOST_IP/24; PostgreSQL $HOST_IP:$PG_FORWARD_PORT -> $PG_LOCAL, Redis $HOST_IP:$REDIS_FORWARD_PORT -> $REDIS_LOCAL (socat)"
for ns in "${NAMESPACES[@]}"; do
  say "$ns: $(ip -n "$ns" -brief -4 addr show dev "saka-n${ns#saka-ns}" | awk '{print $1, $3}'), route to $HOST_IP: $(ip netns exec "$ns" ip route get "$HOST_IP" | head -1 | awk '{print $3}')"
done

# --- the database: migrated, seeded, one compost run opened -------------------------------------

cd "$ROOT"
export PYTHONPATH="$ROOT/src" DJANGO_SETTINGS_MODULE=config.settings.local SAKA_LOG_LEVEL=WARNING
HOST_ENV=(env DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB" REDIS_URL="redis://127.0.0.1:6379/$REDIS_DB")

createdb -h 127.0.0.1 -U postgres "$DB"
DB_MADE=1
"${HOST_ENV[@]}" "$PYTHON" manage.py migrate -v 0
AS_OF="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
say
say "== population"
"${HOST_ENV[@]}" "$PYTHON" manage.py saka_seed --wallets "$WALLETS" --as-of "$AS_OF" --json > "$TMP/seed.json"
cat "$TMP/seed.json"
say

RUN_ID="$("${HOST_ENV[@]}" "$PYTHON" manage.py shell -v 0 -c "
from saka.core.clock import parse_instant
from saka.grains.models import RunKind, RunTrigger
from saka.grains.runs.compost import COMPOST
from saka.grains.runs.lifecycle import open_live
run, _ = open_live(COMPOST, kind=RunKind.COMPOST, at=parse_instant('$AS_OF'), trigger=RunTrigger.COMMAND,
                   triggered_by_id=None, chunk_size=$CHUNK_SIZE)
print(run.pk)
")"
say "== run $RUN_ID opened (queued): compost at $AS_OF, chunks of $CHUNK_SIZE wallet ids; $WORKERS workers, mode $MODE"

# --- the workers, one per namespace -------------------------------------------------------------

start_worker() {  # start_worker NAMESPACE COMMAND...
  local ns=$1
  shift
  # shellcheck disable=SC2016  # $0 and $@ are the inner shell's
  ip netns exec "$ns" unshare --uts -- env PATH="$PATH" sh -c 'hostname "$0" && exec "$@"' "$ns" \
    env DATABASE_URL="$NS_DB_URL" REDIS_URL="$NS_REDIS_URL" "$@" > "$TMP/worker-$ns.log" 2>&1 &
  PIDS+=($!)
  WORKER_PIDS+=($!)
}

WORKER_PIDS=()
STARTED=$SECONDS
if [[ $MODE == celery ]]; then
  for ns in "${NAMESPACES[@]}"; do
    start_worker "$ns" "$PYTHON" -m celery -A config worker -P solo -n "worker@$ns" -l INFO \
      --without-gossip --without-mingle --without-heartbeat
  done
  for ns in "${NAMESPACES[@]}"; do
    wait_for 60 "the Celery worker in $ns" grep -q " ready\." "$TMP/worker-$ns.log"
  done
  "${HOST_ENV[@]}" "$PYTHON" manage.py shell -v 0 -c "
from saka.jobs.enqueue import run_workers_enqueue
run_workers_enqueue(spec='compost', run_id=$RUN_ID, count=$WORKERS)
"
  STARTED=$SECONDS
else
  for ns in "${NAMESPACES[@]}"; do
    start_worker "$ns" "$PYTHON" manage.py saka_compost --join "$RUN_ID" --json
  done
fi

run_status() {
  psql -h 127.0.0.1 -U postgres -d "$DB" -Atc "SELECT status FROM grains_run WHERE id = $RUN_ID"
}
until [[ $(run_status) == "done" ]]; do
  (( SECONDS - STARTED < RUN_TIMEOUT )) || die "run $RUN_ID not done after ${RUN_TIMEOUT}s"
  for pid in "${WORKER_PIDS[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null && [[ $MODE == celery ]]; then die "a Celery worker exited"; fi
  done
  if [[ $MODE == join ]]; then
    alive=0
    for pid in "${WORKER_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [[ $alive == 1 || $(run_status) == "done" ]] || die "every worker exited, run $RUN_ID is $(run_status)"
  fi
  sleep 0.2
done
if [[ $MODE == join ]]; then
  for pid in "${WORKER_PIDS[@]}"; do wait "$pid" || die "a saka_compost --join process failed"; done
else
  # each run_work task ends when its worker sees the run done
  tasks_done() { [[ $(cat "$TMP"/worker-*.log | grep -c "run_work\[.*\] succeeded in") -ge $WORKERS ]]; }
  wait_for 30 "the $WORKERS run_work tasks to finish" tasks_done
fi

# --- what happened ------------------------------------------------------------------------------

say
say "== run summary"
"${HOST_ENV[@]}" "$PYTHON" manage.py shell -v 0 -c "
import json
from saka.grains.models import Run
from saka.grains.selectors import run_summary
s = run_summary(Run.objects.get(pk=$RUN_ID))
seed = json.load(open('$TMP/seed.json'))
keys = ('run_id', 'kind', 'period', 'status', 'outcome', 'as_of', 'chunks', 'chunks_total',
        'wallets_composted', 'total_composted', 'attempts', 'duration_ms', 'error')
for k in keys:
    print(f'{k:>20}: {s[k]}')
exact = (s['wallets_composted'], s['total_composted']) == (seed['expected_compost_wallets'], seed['expected_compost_total'])
print(f\"{'expected':>20}: {seed['expected_compost_wallets']} wallets, {seed['expected_compost_total']} grains -> {'exact' if exact else 'DIFFERENT'}\")
"
say
say "== chunks done per worker (host:pid, the hostname set in each namespace)"
psql -h 127.0.0.1 -U postgres -d "$DB" -P footer=off -c "
SELECT worker, count(*) AS chunks, sum(wallets) AS wallets, sum(amount) AS grains,
       count(*) FILTER (WHERE claims > 1) AS claimed_again
FROM grains_run_chunk WHERE run_id = $RUN_ID GROUP BY worker ORDER BY worker"
say "== connections accepted by the forwarders, per client address"
for f in pg redis; do
  grep -ho "accepting connection from AF=2 [0-9.]*" "$TMP/socat-$f.log" | awk '{print $NF}' | sort | uniq -c \
    | awk -v svc="$f" '{printf "%-6s from %-12s %s connection(s)\n", svc, $2, $1}'
done
say
say "== saka_reconcile"
"${HOST_ENV[@]}" "$PYTHON" manage.py saka_reconcile
