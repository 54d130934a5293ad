"""``saka_bench``: the project's runs side by side with the seeds' algorithm and the SQL floor.

Not part of the installable package (``src/saka``): a Django app of the reference project
that only the benchmark uses. See ``docs/benchmarks.md``.

What lives here, one topic per module:

- ``options``: what a run measures (``BenchOptions``) and the defaults;
- ``dbs``: the server and its ``saka_bench_*`` databases (nothing else is ever touched);
- ``processes``: the child processes (``manage.py`` commands, one JSON line each);
- ``fingerprint`` and ``templates``: the populations, built once per size as template
  databases, copied for every contender and probe;
- ``contenders``, ``floor``, ``seeds_algorithm``: what is measured, in the child process;
- ``measure`` and ``checks``: one contender at one size, and its result against the formula;
- ``fanout``: the project's runs driven by P worker processes at once (the contender's side,
  which opens the run and drives it too, and the workers');
- ``latency``: the member latency probe (its workers and the harness's side);
- ``machine``: what the numbers were measured on;
- ``harness``: the whole run, every size then the probes, into one results dict;
- ``report``: JSON, Markdown, chart and the docs blocks;
- ``management/commands``: ``saka_bench`` and ``saka_bench_contender`` (the child process).

What it may import: ``bench`` is the top layer (import-linter, ``pyproject.toml``): it may
import any ``saka`` package and Django; nothing in ``saka`` imports it.
"""
