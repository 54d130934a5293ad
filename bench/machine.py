"""What the numbers were measured on: the machine, the PostgreSQL server and its settings,
the versions, and the commit of the code measured (recorded with every result)."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from bench.dbs import Server
from bench.options import BASE_DIR


def machine_info(server: Server) -> dict[str, Any]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(  # noqa: S603 - fixed git arguments
                ["git", *args],  # noqa: S607 - git from PATH
                cwd=BASE_DIR,
                capture_output=True,
                text=True,
                check=False,
                timeout=10,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    mem_kb = 0
    cpu = platform.processor()
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import django

    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "postgresql": server.version(),
        "pg_settings": server.settings(
            [
                "shared_buffers",
                "work_mem",
                "max_wal_size",
                "fsync",
                "synchronous_commit",
                "jit",
                "autovacuum",
            ]
        ),
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain")),
        "load_avg_start": [round(x, 2) for x in os.getloadavg()],
    }


def machine_cpu_s(stat: Path = Path("/proc/stat")) -> float | None:
    """The CPU time the whole machine has spent working since boot, in core-seconds: user,
    nice, system, irq and softirq of every core (not idle, I/O wait or steal) from Linux's
    ``/proc/stat``; None elsewhere. Read before and after a contender's timed work, the
    difference is what the run cost every process on the machine (the database server's
    backends, its WAL writer, the run's own process): its work, whatever the core count."""
    try:
        fields = stat.read_text().split("\n", 1)[0].split()
        ticks = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return None
    if len(fields) < 8 or fields[0] != "cpu":
        return None
    user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in fields[1:8])
    return (user + nice + system + irq + softirq) / ticks
