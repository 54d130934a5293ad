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
