"""The benchmark's child processes: ``manage.py`` commands on a bench database, each in a fresh
interpreter (its own connection, no GIL shared with the harness), reporting one JSON line.

Two ways to start them, the only two: :func:`manage` runs one command to its end (migrate,
seed, one contender); :func:`start_workers` starts several at once and returns when each is
warm, and :func:`finish_workers` collects their results (the member probes' workers).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.dbs import BenchError, Server
from bench.options import BASE_DIR

READY_TIMEOUT_S = 120.0


def _env(server: Server, dbname: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": server.url(dbname),
            "DJANGO_DEBUG": "0",  # DEBUG keeps every query in memory
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "SAKA_LOG_LEVEL": "WARNING",
            "PYTHONHASHSEED": "0",
        }
    )
    return env


def manage(server: Server, dbname: str, *args: str, timeout: float) -> tuple[str, float]:
    """``python manage.py <args>`` on ``dbname`` in a fresh process; its stdout and wall time."""
    cmd = [sys.executable, str(BASE_DIR / "manage.py"), *args]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(  # noqa: S603 - our own interpreter and manage.py, fixed arguments
            cmd,
            cwd=BASE_DIR,
            env=_env(server, dbname),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise TimeoutError(f"{' '.join(args[:3])} timed out after {timeout:.0f} s") from exc
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-15:]
        raise BenchError(
            f"`manage.py {' '.join(args)}` on {dbname} exited {proc.returncode}:\n"
            + "\n".join(tail)
        )
    return proc.stdout, elapsed


def last_json(stdout: str) -> dict[str, Any]:
    """The last JSON line a child process printed (its result)."""
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            data: dict[str, Any] = json.loads(line)
            return data
    raise BenchError(f"no JSON result in the output: {stdout[-500:]!r}")


def start_workers(
    server: Server,
    dbname: str,
    commands: Sequence[Sequence[str]],
    *,
    ready_files: Sequence[Path],
) -> list[subprocess.Popen[str]]:
    """Start ``manage.py <command>`` for each command, all at once, and return once each has
    touched its ready file (it is warm), or all have exited, or after 120 s."""
    procs = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, str(BASE_DIR / "manage.py"), *args],
            cwd=BASE_DIR,
            env=_env(server, dbname),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in commands
    ]
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline and any(p.poll() is None for p in procs):
        if all(path.exists() for path in ready_files):
            break
        time.sleep(0.05)
    return procs


def finish_workers(
    procs: Sequence[subprocess.Popen[str]], *, timeout: float, what: str
) -> list[dict[str, Any]]:
    """Each worker's JSON result, in order (a worker still running after ``timeout`` is
    killed); :class:`BenchError` when one exited with an error."""
    results = []
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        if proc.returncode != 0:
            raise BenchError(f"{what} exited {proc.returncode}: {err.strip()[-800:]}")
        results.append(last_json(out))
    return results
