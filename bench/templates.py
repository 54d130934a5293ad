"""The populations, built once per size as template databases and copied for every contender.

For each size N the population is created once (migrations, ``saka_seed``, VACUUM ANALYZE)
into a template database ``<prefix>_tpl_<N>``, and once more after the project's compost
(``<prefix>_tpl_<N>_c``, the starting point of every redistribution contender). Before each
contender (and each member probe) the identical state is restored with ``CREATE DATABASE ...
TEMPLATE ...`` and dropped after.
"""

from __future__ import annotations

import time
from typing import Any

from bench.dbs import Server, check_name
from bench.fingerprint import fingerprint
from bench.options import BenchOptions
from bench.processes import last_json, manage

FILE_COPY_FROM = 50_000  # templates of at least this many wallets are copied file by file


class Templates:
    def __init__(self, server: Server, opts: BenchOptions) -> None:
        self.server = server
        self.opts = opts
        self.made: list[str] = []  # created (or reused) by this run, to drop at the end
        self.ready: set[str] = set()
        # what building each population cost, by size (None when reused from an earlier run):
        # saka_seed's wall time, VACUUM ANALYZE + CHECKPOINT, the database's size on disk
        self.populations: dict[int, dict[str, Any] | None] = {}

    def name(self, size: int | None, suffix: str = "") -> str:
        base = f"{self.opts.prefix}_schema" if size is None else f"{self.opts.prefix}_tpl_{size}"
        return check_name(base + suffix)

    def _fresh(self, name: str, size: int | None) -> bool:
        """Built by this run, or kept by an earlier one with the same fingerprint
        (``--reuse-templates``); otherwise the caller (re)builds it."""
        if name in self.ready:
            return True
        self.made.append(name)
        self.ready.add(name)
        return (
            self.opts.reuse_templates
            and self.server.exists(name)
            and self.server.comment(name) == fingerprint(self.opts, size)
        )

    def schema(self) -> str:
        name = self.name(None)
        if self._fresh(name, None):
            return name
        self.opts.log(f"  template {name}: migrate")
        self.server.create(name)
        manage(self.server, name, "migrate", "--noinput", "-v", "0", timeout=self.opts.timeout_s)
        self.server.maintain(name)
        self.server.set_comment(name, fingerprint(self.opts, None))
        return name

    def population(self, size: int) -> str:
        name = self.name(size)
        if self._fresh(name, size):
            self.populations.setdefault(size, None)
            return name
        schema = self.schema()
        self.server.create(name, template=schema)
        out, elapsed = manage(
            self.server,
            name,
            "saka_seed",
            "--wallets",
            str(size),
            "--as-of",
            self.opts.as_of.isoformat(),
            "--json",
            timeout=self.opts.timeout_s,
        )
        seeded = last_json(out)
        started = time.perf_counter()
        self.server.maintain(name)
        maintained = time.perf_counter() - started
        self.server.set_comment(name, fingerprint(self.opts, size))
        db_bytes = self.server.size_bytes(name)
        self.populations[size] = {
            "wallets": seeded["wallets"],
            "seed_s": round(elapsed, 1),
            "vacuum_analyze_s": round(maintained, 1),
            "db_mb": round(db_bytes / 2**20),
        }
        self.opts.log(
            f"  template {name}: {seeded['wallets']} wallets seeded in {elapsed:.1f} s "
            f"(expected compost {seeded['expected_compost_wallets']} wallets), VACUUM ANALYZE "
            f"{maintained:.1f} s, {db_bytes / 2**20:,.0f} MB on disk"
        )
        return name

    def after_compost(self, size: int) -> str:
        """The population after the project's compost at ``as_of`` (redistribution input)."""
        name = self.name(size, "_c")
        if self._fresh(name, size):
            return name
        self.server.create(name, template=self.population(size), file_copy=size >= FILE_COPY_FROM)
        out, elapsed = manage(
            self.server,
            name,
            "saka_compost",
            "--as-of",
            self.opts.as_of.isoformat(),
            "--json",
            "--chunk-size",
            str(self.opts.chunk_size),
            timeout=self.opts.timeout_s,
        )
        run = last_json(out)
        self.server.maintain(name)
        self.server.set_comment(name, fingerprint(self.opts, size))
        self.opts.log(
            f"  template {name}: project compost {run.get('wallets_composted')} wallets "
            f"in {elapsed:.1f} s (untimed)"
        )
        return name

    def drop_all(self) -> None:
        for name in reversed(self.made):
            self.server.drop(name)
