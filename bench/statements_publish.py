"""Measure the verifiable run statements on a seeded PostgreSQL database (``saka_seed``):
the publish time inside a live compost and redistribution, the tree hashed in Python or with
the leaves hashed in SQL, and the reconcile checks' time. Usage (a database of your own)::

    DATABASE_URL=postgres://.../saka_proofs_bench PYTHONPATH=src:. \\
        python bench/statements_publish.py 2026-11-02T12:00:00+00:00
"""

from __future__ import annotations

import logging
import os
import resource
import sys
import time
from datetime import datetime, timedelta

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    django.setup()
    from saka.grains import invariants, run_statements
    from saka.grains.models import Run
    from saka.grains.runs.compost import compost_run_start
    from saka.grains.runs.redistribution import redistribution_run_start
    from saka.ledger.reconcile import reconcile

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name in ("saka.runs",):
        logging.getLogger(name).setLevel(logging.INFO)
    as_of = datetime.fromisoformat(sys.argv[1])
    t = time.monotonic()
    compost = compost_run_start(as_of=as_of)
    print(f"compost run {compost.pk}: {compost.wallets_done} wallets, {time.monotonic() - t:.2f} s")
    red = redistribution_run_start(as_of=as_of + timedelta(days=1))
    print(f"redistribution run {red.pk}: {red.wallets_done} wallets credited")
    for run in (Run.objects.get(pk=compost.pk), Run.objects.get(pk=red.pk)):
        for sql in (False, True):
            t = time.monotonic()
            chunks = list(run_statements.run_chunk_leaves(run, sql_leaves=sql))
            root = run_statements.top_root(chunks)
            print(
                f"run {run.pk} ({run.kind}) tree, leaves in {'SQL' if sql else 'Python'}: "
                f"{sum(c.count for c in chunks)} leaves, {len(chunks)} chunks, "
                f"{time.monotonic() - t:.3f} s, root {root[:12]}"
            )
    for check in (invariants.run_statements_chain, invariants.run_statements_match_books):
        t = time.monotonic()
        found = list(check(100))
        print(f"{check.__name__}: {len(found)} discrepancies, {time.monotonic() - t:.2f} s")
    report = reconcile()
    print(f"reconcile (all checks): ok={report.ok}, {report.elapsed_ms} ms")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")
    with open("/proc/loadavg") as f:
        print(f"loadavg {f.read().strip()}")


if __name__ == "__main__":
    main()
