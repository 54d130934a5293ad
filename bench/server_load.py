"""The real server's throughput: member reads and writes over HTTP, against the reference
project served as in production (``config.settings.production``, gunicorn), on a copy of the
population (by default the largest size).

The load comes from wrk (Debian's ``wrk``, a C load generator: its one thread leaves the
server nearly all of the 2 cores a Python client would take). Each phase replays a file of
requests prepared beforehand, each sent once (:file:`bench/wrk_requests.lua`): distinct
members, their own tokens and idempotency keys, signed deposits. A closed loop with
``--server-connections`` connections for ``--server-seconds`` per phase: requests per second,
p50/p90/p99 as wrk measures them (from the request's write to its response's last byte).

Phases: the reads (``wallet``, ``history``), each write alone (``harvest`` on behalf by the
platform, ``plant``, ``boost``, a signed ``deposit``, ``pledge`` by members funded in the
deposit phase), then the writes mixed (one of each in turn): the figure the issue's bar is
about (1,000 member writes/s, p99 under 50 ms).

Speed is reported, never asserted. What is checked is the bookkeeping of every write phase:
every answer a 2xx, and the entries booked during the phase between the 2xx counted and that
plus the connections (a request in flight when wrk stops is booked but never counted);
``saka_reconcile`` at the end.

Both ends live here: :func:`seed` runs in a contender process (``saka_bench_contender
--contender server_seed``), :func:`server_load_probe` in the harness.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.dbs import BenchError, Server, check_name
from bench.options import BASE_DIR, BenchOptions
from bench.processes import last_json, manage
from bench.templates import Templates
from saka.euro.payments.sender import payment_event, signed
from saka.grains.conf import HARVEST_RULES

SECRET = "whsec_saka_bench_server"  # noqa: S105 - the bench database's own webhooks
LUA = Path(__file__).with_name("wrk_requests.lua")
API = "/api/v1"
READS = ("wallet", "history")
WRITES = ("harvest", "plant", "boost", "deposit", "pledge")
PHASES = (*READS, *WRITES, "writes_mixed")
DEPOSIT_CENTS = 100_00
PLEDGE = "1.00"  # each pledge: 1 EUR, so a funded member can pledge 100 times
PROFILED = ("plant", "deposit")  # the writes profiled in-process after the load
# what each write phase books, counted in the database: (table, kind)
BOOKS = {
    "harvest": ("grains_entry", "harvest"),
    "plant": ("grains_entry", "plant"),
    "boost": ("grains_entry", "plant"),
    "deposit": ("euro_entry", "deposit"),
    "pledge": ("euro_entry", "pledge"),
}


# --- the seed (in a contender process, on the copy) ------------------------------------------


def seed(*, members: int) -> dict[str, Any]:
    """A platform user allowed to harvest on behalf, a project with an open campaign, and API
    tokens for the first ``members`` members of the population (bulk, in SQL)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.db import connection
    from rest_framework.authtoken.models import Token

    from saka.core.clock import now
    from saka.euro.services.campaigns import campaign_create
    from saka.projects.services import project_create

    users = get_user_model()
    platform = users.objects.create(username=f"bench-platform-{time.monotonic_ns()}")
    platform.user_permissions.add(Permission.objects.get(codename="harvest_on_behalf"))
    platform_token = Token.objects.create(user=platform).key
    owner = users.objects.create(username=f"bench-owner-{time.monotonic_ns()}")
    project = project_create(owner_id=owner.pk, title="Bench server load")
    campaign = campaign_create(
        project_id=project.pk, goal=10**11, deadline=now() + timedelta(days=30)
    )
    with connection.cursor() as cur:
        cur.execute(
            """INSERT INTO authtoken_token (key, created, user_id)
               SELECT substr(md5('bench-a-' || a.member_id) || md5('bench-b-' || a.member_id),
                             1, 40),
                      now(), a.member_id
               FROM grains_account a
               WHERE a.kind = 'wallet' AND a.member_id IS NOT NULL
               ORDER BY a.member_id LIMIT %s
               RETURNING user_id, key""",
            [members],
        )
        tokens = sorted(cur.fetchall())
    return {
        "platform_token": platform_token,
        "project_id": project.pk,
        "campaign_id": campaign.pk,
        "tokens": tokens,
    }


# --- the requests of each phase --------------------------------------------------------------


def _json(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"))


def _line(method: str, path: str, body: str, headers: dict[str, str]) -> str:
    """One line of the requests file (bench/wrk_requests.lua): no field holds a tab."""
    fields = [method, path, body]
    for name, value in headers.items():
        fields += [name, value]
    return "\t".join(fields)


def _member_headers(token: str, key: str | None = None) -> dict[str, str]:
    headers = {
        "Authorization": f"Token {token}",
        "X-Forwarded-Proto": "https",  # what the TLS proxy in front sets (production trusts it)
        "Content-Type": "application/json",
    }
    if key is not None:
        headers["Idempotency-Key"] = key
    return headers


# the harvests a member can be granted in a day: each reason up to its daily limit
HARVEST_SLOTS = [r for r, rule in HARVEST_RULES.items() for _ in range(rule.daily_limit or 1)]


def phase_lines(
    phase: str,
    seeded: dict[str, Any],
    *,
    count: int,
    funded: Sequence[int],
    tag: str,
    start: int = 0,
) -> list[str]:
    """Requests ``start .. start + count`` of ``phase``: the members with tokens in turn, each
    request with its own idempotency key (a harvest: the member's next reason within its
    daily limits, so the harvest plan of a day must start after the previous phase's)."""
    tokens: list[list[Any]] = seeded["tokens"]
    if phase == "harvest" and (start + count) > len(tokens) * len(HARVEST_SLOTS):
        raise BenchError(
            f"harvest: {start + count:,} harvests but {len(tokens):,} members with tokens "
            f"(each at most {len(HARVEST_SLOTS)} a day)"
        )
    token_of = {int(m): str(k) for m, k in tokens}
    lines: list[str] = []
    for i in range(start, start + count):
        member_id, token = int(tokens[i % len(tokens)][0]), str(tokens[i % len(tokens)][1])
        key = f"bench-{tag}-{phase}-{i}"
        if phase == "wallet":
            lines.append(_line("GET", f"{API}/me/saka/wallet/", "", _member_headers(token)))
        elif phase == "history":
            lines.append(_line("GET", f"{API}/me/saka/history/", "", _member_headers(token)))
        elif phase == "harvest":
            lines.append(
                _line(
                    "POST",
                    f"{API}/platform/saka/harvests/",
                    _json(
                        {
                            "member_id": member_id,
                            "reason": HARVEST_SLOTS[i // len(tokens)],
                        }
                    ),
                    _member_headers(seeded["platform_token"], key),
                )
            )
        elif phase == "plant":
            lines.append(
                _line(
                    "POST",
                    f"{API}/me/saka/plant/",
                    _json({"amount": 1}),
                    _member_headers(token, key),
                )
            )
        elif phase == "boost":
            lines.append(
                _line(
                    "POST",
                    f"{API}/projects/{seeded['project_id']}/boost/",
                    _json({"amount": 1}),
                    _member_headers(token, key),
                )
            )
        elif phase == "deposit":
            event = payment_event(
                member_id=member_id,
                amount=DEPOSIT_CENTS,
                event_id=f"evt_bench_server_{tag}_{i}",
                payment_id=f"pi_bench_server_{tag}_{i}",
            )
            payload, signature = signed(event, secret=SECRET)
            headers = {
                "Content-Type": "application/json",
                "Stripe-Signature": signature,
                "X-Forwarded-Proto": "https",
            }
            lines.append(_line("POST", f"{API}/webhooks/payments/", payload.decode(), headers))
        elif phase == "pledge":
            pledger = funded[i % len(funded)]
            lines.append(
                _line(
                    "POST",
                    f"{API}/me/euro/pledges/",
                    _json({"project_id": seeded["project_id"], "amount": PLEDGE}),
                    _member_headers(token_of[pledger], key),
                )
            )
        else:
            raise BenchError(f"unknown phase {phase!r}")
    return lines


def mixed_lines(
    seeded: dict[str, Any], *, count: int, funded: Sequence[int], tag: str, harvest_start: int
) -> list[str]:
    """The writes in turn (harvest, plant, boost, deposit, pledge), each from its own list: the
    members of one kind are distinct, as in the phases alone."""
    per = -(-count // len(WRITES))
    lists = [
        phase_lines(
            w,
            seeded,
            count=per,
            funded=funded,
            tag=f"{tag}m",
            start=harvest_start if w == "harvest" else 0,  # after the harvest phase's plan
        )
        for w in WRITES
    ]
    return [lst[i] for i in range(per) for lst in lists]


# --- the server -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def server_env(server: Server, dbname: str, *, redis_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DJANGO_SECRET_KEY": "bench-" + hashlib.sha256(dbname.encode()).hexdigest(),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": server.url(dbname),
            "REDIS_URL": redis_url,
            "SAKA_PAYMENT_WEBHOOK_SECRET": SECRET,
            # the platform's harvest service is one client: its rate is the operator's choice
            "SAKA_PLATFORM_THROTTLE": "1000000/min",
            # as deployed (docs/observability.md): a JSON line per request, the workers'
            # metrics in a shared directory
            "SAKA_LOG_LEVEL": "INFO",
            "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="saka-bench-prometheus-"),
            "PYTHONHASHSEED": "0",
        }
    )
    return env


@contextlib.contextmanager
def gunicorn(env: dict[str, str], *, port: int) -> Iterator[str]:
    """The reference project under gunicorn with its production configuration
    (``config/gunicorn.py``) on ``127.0.0.1:port``; yields the base URL once it answers."""
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        str(BASE_DIR / "config" / "gunicorn.py"),
        "--bind",
        f"127.0.0.1:{port}",
        "config.wsgi:application",
    ]
    log = tempfile.NamedTemporaryFile(prefix="saka-bench-gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and gunicorn
        cmd, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise BenchError(
                    f"gunicorn exited {proc.returncode}: {Path(log.name).read_text()[-800:]}"
                )
            try:
                probe = urllib.request.Request(  # noqa: S310 - our own server
                    f"{base}/healthz", headers={"X-Forwarded-Proto": "https"}
                )
                with urllib.request.urlopen(probe, timeout=2):  # noqa: S310
                    break
            except urllib.error.HTTPError:
                break  # it answers (a 503 health check is still a server)
            except OSError:
                if time.monotonic() > deadline:
                    raise BenchError("gunicorn did not answer within 60 s") from None
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        Path(log.name).unlink(missing_ok=True)


def wrk_path() -> str:
    """wrk's executable; checked before a benchmark starts (``saka_bench``), so a missing wrk
    refuses the whole command at once rather than after the runs it would have measured."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchError(
            "wrk is not installed (apt-get install wrk); the real server's throughput needs it "
            "(or pass --no-server)"
        )
    return wrk


def run_wrk(base: str, lines: list[str], *, connections: int, seconds: float) -> dict[str, Any]:
    wrk = wrk_path()
    with tempfile.NamedTemporaryFile("w", prefix="saka-bench-wrk-", suffix=".tsv") as f:
        f.write("\n".join(lines) + "\n")
        f.flush()
        proc = subprocess.run(  # noqa: S603 - wrk with fixed arguments
            [
                wrk,
                "--threads",
                "1",
                "--connections",
                str(connections),
                "--duration",
                f"{max(1, round(seconds))}s",
                "--timeout",
                "10s",
                "--script",
                str(LUA),
                base,
                "--",
                f.name,
                "1",
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 120,
            check=False,
        )
    if proc.returncode != 0:
        raise BenchError(f"wrk exited {proc.returncode}: {proc.stderr[-500:]}")
    return last_json(proc.stdout)


def _summary(raw: dict[str, Any], *, connections: int) -> dict[str, Any]:
    seconds = raw["duration_us"] / 1e6
    statuses = {k: int(v) for k, v in raw["statuses"].items()}
    ok = sum(n for code, n in statuses.items() if code.startswith("2"))
    return {
        "connections": connections,
        "seconds": round(seconds, 2),
        "requests": raw["requests"],
        "ok": ok,
        "statuses": statuses,
        "errors": raw["errors"],
        "wrapped": raw["wrapped"],
        "rps": round(raw["requests"] / seconds, 1) if seconds else None,
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p90_ms": round(raw["p90_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "max_ms": round(raw["max_us"] / 1000, 2),
    }


def _high_water(conn: Any) -> dict[str, int]:
    with conn.cursor() as cur:
        cur.execute("SELECT coalesce(max(id), 0) FROM grains_entry")
        grains = int(cur.fetchone()[0])
        cur.execute("SELECT coalesce(max(id), 0) FROM euro_entry")
        euro = int(cur.fetchone()[0])
    return {"grains_entry": grains, "euro_entry": euro}


def _booked(conn: Any, since: dict[str, int]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    with conn.cursor() as cur:
        for table in ("grains_entry", "euro_entry"):
            cur.execute(
                f"SELECT kind, count(*) FROM {table} WHERE id > %s GROUP BY kind",
                [since[table]],
            )
            for kind, n in cur.fetchall():
                out[(table, kind)] = int(n)
    return out


def _settled(conn: Any, since: dict[str, int], *, quiet_s: float) -> dict[tuple[str, str], int]:
    """What was booked since ``since``, once nothing more has been for ``quiet_s``: the
    requests in flight (or queued in the server's backlog) when wrk stopped are booked after
    it returns, and belong to the phase that sent them (at most 60 s)."""
    booked, deadline = _booked(conn, since), time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        again = _booked(conn, since)
        if again == booked:
            break
        booked = again
    return booked


def _check_phase(
    phase: str, result: dict[str, Any], booked: dict[tuple[str, str], int]
) -> list[str]:
    """What is wrong with a phase's answers and books (empty: nothing)."""
    problems = []
    if result["wrapped"]:
        problems.append(f"{phase}: the request list ran out (sent again {result['wrapped']}x)")
    bad = {c: n for c, n in result["statuses"].items() if not c.startswith("2")}
    if bad:
        problems.append(f"{phase}: non-2xx answers {bad}")
    if any(result["errors"].values()):
        problems.append(f"{phase}: socket errors {result['errors']}")
    kinds = list(WRITES) if phase == "writes_mixed" else [phase] if phase in BOOKS else []
    expected_keys = {BOOKS[k] for k in kinds}
    got = sum(booked.get(key, 0) for key in expected_keys)
    if kinds and not result["ok"] <= got <= result["ok"] + result["connections"]:
        problems.append(f"{phase}: {result['ok']} answered 2xx but {got} entries booked")
    stray = {k: n for k, n in booked.items() if k not in expected_keys}
    if stray:
        problems.append(f"{phase}: unexpected entries booked {stray}")
    return problems


def server_load_probe(
    server: Server, templates: Templates, opts: BenchOptions, size: int
) -> dict[str, Any]:
    """Every phase against gunicorn on a copy of the population of ``size`` wallets."""
    connections, seconds = opts.server_connections, opts.server_seconds
    # enough distinct requests for a closed loop at up to this rate (a wrap is refused)
    count = int(seconds * opts.server_max_rps)
    members = min(size, count)
    template = templates.population(size)
    db = check_name(f"{opts.prefix}_server")
    server.drop(db)
    server.create(db, template=template)
    results: dict[str, Any] = {}
    profiles: dict[str, Any] = {}
    problems: list[str] = []
    try:
        out, seed_s = manage(
            server,
            db,
            "saka_bench_contender",
            "--contender",
            "server_seed",
            "--as-of",
            opts.as_of.isoformat(),
            "--tokens",
            str(members),
            timeout=opts.timeout_s,
        )
        seeded = last_json(out)
        tag = str(time.time_ns())
        env = server_env(server, db, redis_url=opts.server_redis_url)
        conn = server.connect(db)
        funded: list[int] = []
        try:
            with gunicorn(env, port=_free_port()) as base:
                warm = phase_lines("wallet", seeded, count=2_000, funded=(), tag=tag)
                run_wrk(base, warm, connections=connections, seconds=3.0)
                for phase in PHASES:
                    if phase == "writes_mixed":
                        lines = mixed_lines(
                            seeded, count=count, funded=funded, tag=tag, harvest_start=count
                        )
                    else:
                        if phase == "pledge" and not funded:
                            problems.append("pledge: no member was funded by the deposit phase")
                            continue
                        lines = phase_lines(phase, seeded, count=count, funded=funded, tag=tag)
                    since = _high_water(conn)
                    raw = run_wrk(base, lines, connections=connections, seconds=seconds)
                    result = _summary(raw, connections=connections)
                    quiet_s = max(1.0, 2 * result["max_ms"] / 1000)
                    booked = _settled(conn, since, quiet_s=quiet_s)
                    problems += _check_phase(phase, result, booked)
                    results[phase] = result
                    opts.log(f"    {phase:>12}: " + server_load_line(result))
                    if phase == "deposit":
                        with conn.cursor() as cur:
                            cur.execute(
                                "SELECT member_id FROM euro_account WHERE kind = 'wallet' "
                                "AND balance >= %s ORDER BY member_id",
                                [DEPOSIT_CENTS],
                            )
                            funded = [int(r[0]) for r in cur.fetchall()]
        finally:
            conn.close()
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            json.dump(seeded, f)
            f.flush()
            for phase in PROFILED:
                got, _ = manage(
                    server,
                    db,
                    "saka_bench_contender",
                    "--contender",
                    "server_profile",
                    "--as-of",
                    opts.as_of.isoformat(),
                    "--phase",
                    phase,
                    "--calls",
                    str(opts.server_profile_calls),
                    "--seeded-file",
                    f.name,
                    timeout=opts.timeout_s,
                )
                profiles[phase] = last_json(got)
                opts.log(f"    profile of {phase}: " + profile_line(profiles[phase]))
        out, _ = manage(server, db, "saka_reconcile", timeout=opts.timeout_s)
    finally:
        server.drop(db)
    return {
        "size": size,
        "connections": connections,
        "seconds": seconds,
        "seed_s": round(seed_s, 1),
        "phases": results,
        "profiles": profiles,
        "reconcile": out.strip().splitlines()[-1] if out.strip() else "",
        "problems": problems,
    }


def server_load_line(result: dict[str, Any]) -> str:
    return (
        f"{result['rps']:,.0f} req/s, p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms "
        f"({result['requests']:,} requests, {result['ok']:,} 2xx)"
    )


def profile_line(p: dict[str, Any]) -> str:
    top = ", ".join(f"{name} {ms} ms" for name, ms in p["top_own_time_ms_per_call"][:5])
    return (
        f"{p['ms_per_call']} ms a call in-process, {p['statements_per_call']} statements, "
        f"{p['db_share']:.0%} of it waiting on the database; most own time: {top}"
    )


WRITES_BAR = {"rps": 1_000.0, "p99_ms": 50.0}  # issue 11: Formance's ~1,000 writes/s a ledger


def server_table(results: dict[str, Any]) -> str:
    """The server probe as a markdown table (empty when it did not run)."""
    srv = results.get("server")
    if not srv:
        return ""
    lines = [
        f"The real server (gunicorn, `config.settings.production`, N = {srv['size']:,} wallets; "
        f"wrk closed loop, {srv['connections']} connections, {srv['seconds']:g} s per phase):",
        "",
        "| phase | requests/s | p50 (ms) | p90 (ms) | p99 (ms) | requests | 2xx |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for phase, r in srv["phases"].items():
        lines.append(
            f"| {phase} | {r['rps']:,.0f} | {r['p50_ms']} | {r['p90_ms']} | {r['p99_ms']} | "
            f"{r['requests']:,} | {r['ok']:,} |"
        )
    for phase, p in srv.get("profiles", {}).items():
        lines += ["", f"Profile of one {phase} (`--contender server_profile`): {profile_line(p)}."]
    lines += [
        "",
        f"Books: {srv['reconcile'] or 'not reconciled'}; problems: "
        f"{'; '.join(srv['problems']) or 'none'}.",
    ]
    return "\n".join(lines)


def server_bar(results: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    srv = results.get("server")
    mixed = (srv or {}).get("phases", {}).get("writes_mixed")
    if not mixed:
        return []
    return [
        (
            f"member writes ≥ {WRITES_BAR['rps']:,.0f}/s with p99 < {WRITES_BAR['p99_ms']:g} ms "
            f"on the real server (N = {srv['size']:,})",  # type: ignore[index]
            f"{mixed['rps']:,.0f}/s, p99 {mixed['p99_ms']} ms",
            mixed["rps"] >= WRITES_BAR["rps"] and mixed["p99_ms"] < WRITES_BAR["p99_ms"],
        )
    ]


# --- the profile of one write (in a contender process, on the copy) ---------------------------


def profile_write(*, phase: str, calls: int, seeded: dict[str, Any]) -> dict[str, Any]:
    """``calls`` requests of ``phase`` through Django's handler in this process (no server,
    no network): wall time per call, its statements and their share of the time (the rest is
    Python: middleware, DRF, the ORM, the service), and the functions with most own time."""
    import cProfile
    import pstats

    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from saka.euro.conf import get_settings

    settings.SAKA_PAYMENT_WEBHOOK_SECRET = SECRET  # as the served project's environment sets it
    get_settings.cache_clear()
    client = Client()
    db_s = 0.0
    statements = 0

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal db_s, statements
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            db_s += time.perf_counter() - t0
            statements += 1

    funded = [int(m) for m, _k in seeded["tokens"][: max(1, calls)]]
    if phase == "pledge":  # members with money: a deposit each first, untimed
        for line in phase_lines("deposit", seeded, count=len(funded), funded=(), tag="pf"):
            _send(client, line)
    lines = phase_lines(phase, seeded, count=calls + 1, funded=funded, tag="pw")
    _send(client, lines[0])  # warm: the first request imports and compiles
    profiler = cProfile.Profile()
    with connection.execute_wrapper(timed):
        t0 = time.perf_counter()
        profiler.enable()
        for line in lines[1:]:
            status = _send(client, line)
            if status >= 300:
                raise BenchError(f"profile of {phase}: answered {status}")
        profiler.disable()
        wall_s = time.perf_counter() - t0
    stats = pstats.Stats(profiler)
    rows = sorted(
        ((v[2], f"{Path(k[0]).name}:{k[1]}({k[2]})") for k, v in stats.stats.items()),  # type: ignore[attr-defined]
        reverse=True,
    )[:15]
    return {
        "phase": phase,
        "calls": calls,
        "ms_per_call": round(wall_s / calls * 1000, 2),
        "statements_per_call": round(statements / calls, 1),
        "db_share": round(db_s / wall_s, 2),
        "top_own_time_ms_per_call": [[name, round(t / calls * 1000, 3)] for t, name in rows],
    }


def _send(client: Any, line: str) -> int:
    method, path, body, *rest = line.split("\t")
    headers = dict(zip(rest[::2], rest[1::2], strict=True))
    extra = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
    extra.pop("HTTP_CONTENT_TYPE", None)
    if method == "GET":
        response = client.get(path, **extra)
    else:
        response = client.post(path, data=body, content_type="application/json", **extra)
    status: int = response.status_code
    return status
