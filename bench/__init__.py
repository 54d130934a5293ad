"""``saka_bench``: the project's runs side by side with the seeds' algorithm and the SQL floor.

Not part of the installable package (``src/saka``): a Django app of the reference project
that only the benchmark uses. See ``docs/benchmarks.md``.
"""
