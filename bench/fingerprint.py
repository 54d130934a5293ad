"""The fingerprint of the code a template was built with: a kept template is reused
(``--reuse-templates``) only when its database comment carries the same fingerprint."""

from __future__ import annotations

import hashlib

from bench.options import BASE_DIR, BenchOptions
from saka.grains.conf import get_settings


def fingerprint(opts: BenchOptions, size: int | None) -> str:
    """What a template depends on: migrations, the seed, the runs, the rules, N and as_of."""
    digest = hashlib.sha256()
    src = BASE_DIR / "src" / "saka"
    files = [
        *sorted(src.glob("*/migrations/*.py")),
        src / "demo" / "seed.py",
        src / "grains" / "rules.py",
        *sorted((src / "grains" / "runs").glob("*.py")),
        *sorted((src / "grains" / "sql").glob("*.py")),
    ]
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    digest.update(repr(get_settings()).encode())
    digest.update(f"{size}|{opts.as_of.isoformat()}|{opts.chunk_size}".encode())
    return "saka_bench " + digest.hexdigest()[:24]
