"""What one ``saka_bench`` run measures and how: its options (:class:`BenchOptions`) and the
defaults the command and the tests start from."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from bench.dbs import PREFIX
from saka.grains.runs.chunks import DEFAULT_CHUNK_SIZE

DEFAULT_AS_OF = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # a Monday, 03:00 UTC
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (2_000, 5_000)
DEFAULT_PROCESSES = (1, 2, 4)  # the fan-out measurement: worker processes sharing one run
QUICK_PROCESSES = (2,)
QUICK_PROCESSES_CHUNK_SIZE = 500  # so that a tiny run has chunks enough to share
DEFAULT_SETTLEMENT_PLEDGES = 20_000
QUICK_SETTLEMENT_PLEDGES = 2_000
# the second seeds report's contenders (bench.second_report)
DEFAULT_SECOND_SETTLEMENT_SIZES = (1_000, 10_000, 100_000)
QUICK_SECOND_SETTLEMENT_SIZES = (500, 2_000)
DEFAULT_POCKET_COUNTS = (1, 10, 100)
DEFAULT_CONCURRENT_DEPOSITS = 1_000
QUICK_CONCURRENT_DEPOSITS = 200
DEFAULT_ORDER = (
    "floor_compost",
    "project_compost",
    "seeds_compost",
    "naive_compost",
    "floor_redistribution",
    "project_redistribution",
    "seeds_redistribution",
)
BASE_DIR = Path(settings.BASE_DIR)  # the reference project: manage.py, src/


@dataclass
class BenchOptions:
    sizes: Sequence[int] = DEFAULT_SIZES
    contenders: Sequence[str] = DEFAULT_ORDER
    as_of: datetime = DEFAULT_AS_OF
    prefix: str = PREFIX
    naive_max: int = 100_000
    repeat: int = 1
    chunk_size: int = DEFAULT_CHUNK_SIZE
    floor_variant: str = "column"  # bench.floor.DEFAULT_VARIANT
    reconcile_max: int = 100_000  # saka_reconcile after contenders on sizes up to this
    latency: bool = True
    latency_size: int | None = None  # default: the largest size
    latency_workers: int = 4
    latency_rate: float = 25.0  # calls per second per worker
    latency_idle_seconds: float = 10.0
    latency_max_ops: int = 5_000  # per worker and phase
    latency_max_seconds: float = 300.0
    throughput: bool = True
    # member p99 while a settlement of this many pledges runs (bench.settlement_latency)
    settlement_latency: bool = True
    settlement_pledges: int = DEFAULT_SETTLEMENT_PLEDGES
    # the second seeds report (bench.second_report): settlement of P pledges, pocket splits of
    # K pockets, N concurrent deposits from deposit_processes processes; () / 0 skips each
    second_report: bool = True
    settlement_sizes: Sequence[int] = DEFAULT_SECOND_SETTLEMENT_SIZES
    pocket_counts: Sequence[int] = DEFAULT_POCKET_COUNTS
    concurrent_deposits: int = DEFAULT_CONCURRENT_DEPOSITS
    deposit_processes: int = 4
    throughput_processes: int = 4  # the parallel phase; the first phase runs 1
    throughput_members: int = 2  # members per process of the parallel phase
    throughput_per_member: int = 50  # harvests per member
    throughput_max_seconds: float = 60.0  # per phase
    # the real server's throughput over HTTP (bench.server_load): gunicorn, wrk
    server: bool = True
    server_size: int | None = None  # default: the largest size
    server_connections: int = 16
    server_seconds: float = 15.0  # per phase
    server_max_rps: float = 3_000.0  # requests prepared per phase: seconds x this
    server_redis_url: str = "redis://127.0.0.1:6379/9"
    server_profile_calls: int = 200  # requests of each write profiled in-process afterwards
    keep_templates: bool = False
    reuse_templates: bool = False
    timeout_s: float = 7_200.0
    checkpoint: bool = True  # CHECKPOINT before each contender's clock (off in quick mode)
    # The fan-out measurement (bench.fanout): the project's runs driven by P worker processes
    # at one size, for each P; () skips it.
    processes: Sequence[int] = DEFAULT_PROCESSES
    processes_size: int | None = None  # default: the largest size (it must be one of sizes)
    process_threads: int = 1  # threads each worker process drives the run with
    processes_chunk_size: int | None = None  # default: chunk_size
    quick: bool = False
    log: Callable[[str], None] = print
