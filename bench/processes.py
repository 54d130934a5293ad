"""The benchmark's child processes: ``manage.py`` commands on a bench database, each in a fresh
interpreter (its own connection, no GIL shared with the harness), reporting one JSON line.

Three ways to start them, the only three: :func:`manage` runs one command to its end (migrate,
seed, one contender); :func:`start_workers` starts several at once and returns when each is
warm, and :func:`finish_workers` collects their results (the member probes' workers);
:func:`start_piped` starts several that each say on stdout when they are warm and then wait
for one line on stdin (the fan-out's workers, started by a contender process: they inherit its
environment, so its database), :func:`send` gives them that line and :func:`finish_piped`
collects their results.
"""

from __future__ import annotations

import json
import os
import secrets
import selectors
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from bench.dbs import BenchError, Server
from bench.options import BASE_DIR

READY_TIMEOUT_S = 120.0
# DEBUG off refuses the development key (config.settings.local): one random key for the run
_SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50)


def _env(server: Server, dbname: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": server.url(dbname),
            "DJANGO_DEBUG": "0",  # DEBUG keeps every query in memory
            "DJANGO_SECRET_KEY": _SECRET_KEY,
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


# --- piped workers (the fan-out) ----------------------------------------------------------------

READY = "ready"


@dataclass
class Piped:
    """A worker process with stdin and stdout piped, its stderr in a temporary file (a chatty
    worker never blocks on a full pipe)."""

    proc: subprocess.Popen[bytes]
    err: IO[bytes]

    def stderr_tail(self) -> str:
        self.err.seek(0)
        return self.err.read().decode(errors="replace").strip()[-800:]


def start_piped(commands: Sequence[Sequence[str]]) -> list[Piped]:
    """Start ``manage.py <command>`` for each command, in this process's environment (the
    caller is itself a bench child, on the database the workers must use)."""
    started = []
    for args in commands:
        err = tempfile.TemporaryFile()  # noqa: SIM115 - closed by kill_running
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, str(BASE_DIR / "manage.py"), *args],
            cwd=BASE_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
        )
        started.append(Piped(proc, err))
    return started


def wait_ready(workers: Sequence[Piped], *, what: str, timeout: float = READY_TIMEOUT_S) -> None:
    """Return once each worker has printed its ``ready`` line; :class:`BenchError` if one
    exits first or the lines do not come within ``timeout``. Reads the pipes byte by byte
    (unbuffered), so nothing after the line is taken from what :func:`finish_piped` reads."""
    pending: dict[int, tuple[Piped, bytearray]] = {}
    with selectors.DefaultSelector() as selector:
        for w in workers:
            if w.proc.stdout is None:  # pragma: no cover - start_piped pipes it
                raise BenchError(f"{what}: no stdout pipe")
            fd = w.proc.stdout.fileno()
            pending[fd] = (w, bytearray())
            selector.register(fd, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BenchError(f"{what}: not ready after {timeout:.0f} s")
            for key, _ in selector.select(left):
                fd = int(key.fd)
                w, line = pending[fd]
                byte = os.read(fd, 1)
                if not byte:
                    w.proc.wait()
                    raise BenchError(f"{what} exited {w.proc.returncode}: {w.stderr_tail()}")
                if byte != b"\n":
                    line += byte
                elif line.decode(errors="replace").strip() == READY:
                    selector.unregister(fd)
                    del pending[fd]
                else:
                    line.clear()  # anything else printed before it


def send(worker: Piped, line: str) -> None:
    """Write one line to the worker's stdin (what it waits for after ``ready``)."""
    if worker.proc.stdin is None:  # pragma: no cover - start_piped pipes it
        raise BenchError("no stdin pipe")
    worker.proc.stdin.write(line.encode() + b"\n")
    worker.proc.stdin.flush()


def finish_piped(workers: Sequence[Piped], *, timeout: float, what: str) -> list[dict[str, Any]]:
    """Each worker's JSON result, in order (one still running after ``timeout`` is killed);
    :class:`BenchError` when one exited with an error."""
    results = []
    deadline = time.monotonic() + timeout
    for w in workers:
        try:
            out, _ = w.proc.communicate(timeout=max(deadline - time.monotonic(), 1.0))
        except subprocess.TimeoutExpired:
            w.proc.kill()
            out, _ = w.proc.communicate()
        if w.proc.returncode != 0:
            raise BenchError(f"{what} exited {w.proc.returncode}: {w.stderr_tail()}")
        results.append(last_json(out.decode(errors="replace")))
    return results


def kill_running(workers: Sequence[Piped]) -> None:
    """Kill the workers still running (each by its own process), reap them, close their
    stderr files."""
    for w in workers:
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait()
        w.err.close()
