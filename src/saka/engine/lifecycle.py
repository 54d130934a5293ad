"""A run's lifecycle: open it, drive it (any number of workers, in threads, processes or
machines), advance its phases, finish it, record interruptions, find and resume stalled runs.

A worker drives a run by looping over its phase: a *single* step is done by whichever worker
first locks the run row in that phase; a *chunked* step is shared -- each worker claims and
does pending chunks until none is left to claim, then waits (polling) while other workers finish
theirs, or takes over a chunk whose lease ran out. The worker that sees every chunk of the step
done moves the run to the next phase (under the run's row lock, planning the next step's
chunks in the same transaction). The last phase done, the run is finished, once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from saka.core.db import durable
from saka.engine import chunks
from saka.engine.conf import get_settings
from saka.engine.errors import EarlierRunUnfinished, RunConflict
from saka.engine.logs import counts_text, run_fields, run_key
from saka.engine.models import UNFINISHED, BatchRun, RunStatus
from saka.engine.spec import Chunked, RunSpec, Single

logger = logging.getLogger("saka.runs")
Progress = Callable[[Any], None]
OPEN_ATTEMPTS = 3
# A lease claimed this long ago whose chunk is not being worked on (row not locked) belongs to
# a dead worker: a live one locks its chunk within a round trip of claiming it.
IDLE_LEASE_SECONDS = 2.0


# --- opening a run ------------------------------------------------------------------------------


def known_user_id(user_id: int | None) -> int | None:
    """``user_id`` if that user exists, else ``None`` (a run queued by a user deleted since
    still runs; it only loses who asked)."""
    if user_id is None or get_user_model().objects.filter(pk=user_id).exists():
        return user_id
    logger.warning("run triggered by user %s, who no longer exists", user_id)
    return None


def open_run(
    spec: RunSpec,
    *,
    find: Callable[[], Any],
    create: Callable[[], Any],
    earlier: Callable[[], Any] | None = None,
) -> tuple[Any, bool]:
    """The run ``find`` returns, or a new one from ``create`` (status queued, phase 0 with its
    chunks planned): ``(run, created)``. Raises ``EarlierRunUnfinished`` when ``earlier``
    returns a run (of the same kind, unfinished) and ``RunConflict`` after a few concurrent
    conflicts (never recursion)."""
    last: IntegrityError | None = None
    for _ in range(OPEN_ATTEMPTS):
        run = find()
        if run is not None:
            return run, False
        blocking = earlier() if earlier is not None else None
        if blocking is not None:
            raise EarlierRunUnfinished(run_id=blocking.pk, **run_key(blocking))
        try:
            with transaction.atomic():
                run = create()
                _plan_phase(spec, run)
        except IntegrityError as exc:  # a concurrent opener won (or another constraint)
            last = exc
            continue
        logger.info(
            "run %s %s opened: %s",
            spec.name,
            run.pk,
            " ".join(run_key(run).values()),
            extra=run_fields(spec, run, "run.opened"),
        )
        return run, True
    raise RunConflict(error=str(last)[:300]) from last


def _plan_phase(spec: RunSpec, run: Any) -> None:
    if run.phase < len(spec.steps):
        step = spec.steps[run.phase]
        if isinstance(step, Chunked):
            chunks.plan(spec, run, step)


# --- status changes -----------------------------------------------------------------------------


def _join(spec: RunSpec, run_id: int) -> None:
    """A worker joins: a queued or interrupted run becomes running (an interrupted one counts
    an attempt); a running one is left as it is."""
    at = timezone.now()
    model = spec.run_model
    model.objects.filter(pk=run_id, status=RunStatus.INTERRUPTED).update(
        status=RunStatus.RUNNING,
        attempts=F("attempts") + 1,
        started_at=Coalesce("started_at", Value(at)),  # kept while other workers went on
        updated_at=at,
    )
    model.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=at, updated_at=at
    )


def _elapsed_ms(run: Any, at: Any) -> int:
    since = run.started_at or at
    return (run.duration_ms or 0) + max(int((at - since).total_seconds() * 1000), 0)


def interrupt(spec: RunSpec, run_id: int, exc: BaseException) -> None:
    """Record why a worker stopped; other workers (if any) go on, and a resume picks it up.
    The time so far is added to ``duration_ms``; the time other workers go on for counts from
    now (a later resume starts its own)."""
    with transaction.atomic():
        found = list(spec.run_model.objects.select_for_update().filter(pk=run_id))
        if not found or found[0].status == RunStatus.DONE:
            return
        run, at = found[0], timezone.now()
        running = run.status == RunStatus.RUNNING
        others = running and bool(chunks.leases(spec, run_id))  # workers that go on
        spec.run_model.objects.filter(pk=run_id).update(
            status=RunStatus.INTERRUPTED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            duration_ms=_elapsed_ms(run, at) if running else run.duration_ms,
            started_at=at if others else None,
            updated_at=at,
        )
    logger.warning("run %s %s interrupted: %s: %s", spec.name, run_id, type(exc).__name__, exc)


def _locked(spec: RunSpec, run_id: int) -> Any:
    return spec.run_model.objects.select_for_update().get(pk=run_id)


def _single(spec: RunSpec, run_id: int, phase: int, step: Single) -> None:
    with durable():
        run = _locked(spec, run_id)
        if run.phase != phase or run.status == RunStatus.DONE:
            return  # another worker did it
        step.work(run)
        _next_phase(spec, run)
    logger.info("run %s %s: step %s done", spec.name, run_id, step.name)


def _advance(spec: RunSpec, run_id: int, phase: int, step: Chunked) -> None:
    """Every chunk of ``step`` is done: move to the next phase (once)."""
    with durable():
        run = _locked(spec, run_id)
        if run.phase != phase or not chunks.step_state(spec, run_id, step.step).finished:
            return
        _next_phase(spec, run)


def _next_phase(spec: RunSpec, run: Any) -> None:
    run.phase += 1
    spec.run_model.objects.filter(pk=run.pk).update(phase=run.phase, updated_at=timezone.now())
    _plan_phase(spec, run)


def _finish(spec: RunSpec, run_id: int) -> None:
    with durable():
        run = _locked(spec, run_id)
        if run.status == RunStatus.DONE:
            return
        at = timezone.now()
        run.outcome = spec.outcome(run)
        fields = {
            "status": RunStatus.DONE,
            "outcome": run.outcome,
            "finished_at": at,
            "updated_at": at,
            "duration_ms": _elapsed_ms(run, at),
            "started_at": None,
            "error": "",
        }
        spec.run_model.objects.filter(pk=run_id).update(**fields)
        for name, value in fields.items():
            setattr(run, name, value)
        if spec.on_finish is not None:
            spec.on_finish(run)
    _done_log(spec, run)


def _done_log(spec: RunSpec, run: Any) -> None:
    """The run's one line at its end: key, outcome, attempts, chunks, time, the kind's totals."""
    counts = dict(spec.counts(run)) if spec.counts is not None else {}
    logger.info(
        "run %s %s%s done: %s, %s chunks, %s attempt(s), %s ms%s",
        spec.name,
        run.pk,
        "".join(f" {v}" for v in run_key(run).values()),
        run.outcome,
        run.chunks_done,
        run.attempts,
        run.duration_ms,
        f", {counts_text(counts)}" if counts else "",
        extra={
            **run_fields(spec, run, "run.done"),
            "outcome": run.outcome,
            "trigger": run.trigger,
            "attempts": run.attempts,
            "chunks_done": run.chunks_done,
            "duration_ms": run.duration_ms,
            "counts": counts,
        },
    )


# --- driving a run ------------------------------------------------------------------------------


def _drive_one(
    spec: RunSpec,
    run_id: int,
    worker: str,
    progress: Progress | None,
    stop: threading.Event,
) -> None:
    """One worker's loop until the run is done (or another thread of the pool failed)."""
    poll = get_settings().poll_ms / 1000
    wait = waited = 0.0  # while other workers finish a step's last chunks
    while not stop.is_set():
        run = spec.run_model.objects.get(pk=run_id)
        if run.status == RunStatus.DONE:
            return
        if run.phase >= len(spec.steps):
            _finish(spec, run_id)
            continue
        step = spec.steps[run.phase]
        if isinstance(step, Single):
            _single(spec, run_id, run.phase, step)
            continue
        leased = chunks.claim(spec, run_id, step, worker)
        if leased is not None:
            wait = waited = 0.0
        while leased is not None and not stop.is_set():
            done, leased = chunks.do_and_claim_next(spec, run, step, *leased, worker)
            if done and progress is not None:
                progress(spec.run_model.objects.get(pk=run_id))
        if leased is not None:  # stopped by another thread's error: give the lease up
            chunks.release(spec, run_id, step.step, leased[0])
        if chunks.step_state(spec, run_id, step.step).finished:
            _advance(spec, run_id, run.phase, step)
            wait = waited = 0.0
            continue
        # Chunks leased by other workers: they end in milliseconds (look again after 5 ms,
        # 10, 20, ... up to SAKA_RUN_POLL_MS); a dead worker's leases are freed once in a while.
        wait = min(max(wait * 2, 0.005), poll)
        time.sleep(wait)
        waited += wait
        if waited >= IDLE_LEASE_SECONDS:
            chunks.free_idle_leases(spec, run_id, claimed_seconds_ago=IDLE_LEASE_SECONDS)
            waited = 0.0


def drive(
    spec: RunSpec,
    run_id: int,
    *,
    threads: int = 1,
    progress: Progress | None = None,
) -> Any:
    """Work on a run until it is done, with ``threads`` workers in this process (each its own
    database connection; one on SQLite or inside a transaction). Other processes may drive the
    same run at the same time. Any error is recorded on the run (``interrupted``) and raised."""
    parallel = threads > 1 and connection.vendor == "postgresql" and not connection.in_atomic_block
    _join(spec, run_id)
    # a resumed run need not wait for dead leases; a lease claimed just now may be a live
    # worker's between its claim and its chunk's transaction: left alone
    chunks.free_idle_leases(spec, run_id, claimed_seconds_ago=IDLE_LEASE_SECONDS)
    errors: list[BaseException] = []
    stop = threading.Event()

    def thread_main(index: int) -> None:
        chunks.set_thread(index)
        try:
            _drive_one(spec, run_id, chunks.worker_name(index), None, stop)
        except BaseException as exc:  # handed to the calling thread, raised there
            stop.set()
            errors.append(exc)
        finally:
            connections.close_all()  # this thread's connections

    pool = (
        [
            threading.Thread(target=thread_main, args=(i,), name=f"saka-run-{i}", daemon=True)
            for i in range(1, threads)
        ]
        if parallel
        else []
    )
    for thread in pool:
        thread.start()
    try:
        try:
            _drive_one(spec, run_id, chunks.worker_name(0 if pool else None), progress, stop)
        except BaseException:
            stop.set()
            raise
        finally:
            for thread in pool:
                thread.join()
        if errors:
            raise errors[0]
    except BaseException as exc:
        try:
            interrupt(spec, run_id, exc)
        except Exception:  # the database is gone too: the run stays as it is, stalled
            logger.exception("run %s %s: could not record the interruption", spec.name, run_id)
        raise
    return spec.run_model.objects.get(pk=run_id)


# --- stalled runs -------------------------------------------------------------------------------


def stalled(spec: RunSpec) -> QuerySet[Any]:
    """Unfinished live runs of ``spec`` that nobody works on (no live lease) and that are
    interrupted, or queued or running with no progress for ``SAKA_RUN_STALL_SECONDS`` (a
    worker died, the broker lost the task)."""
    at = timezone.now()
    cutoff = at - timedelta(seconds=get_settings().stall_seconds)
    live_lease = spec.chunk_model.objects.filter(
        run_id=OuterRef("pk"), done_at__isnull=True, lease_until__gte=at
    )
    model: type[BatchRun] = spec.run_model
    return (
        model.objects.filter(status__in=UNFINISHED, **spec.live)
        .filter(Q(status=RunStatus.INTERRUPTED) | Q(updated_at__lt=cutoff))
        .exclude(Exists(live_lease))
        .order_by("pk")
    )


def last_finished(spec: RunSpec) -> Any:
    """The live run of ``spec`` that finished last (``None``: none has yet)."""
    model: type[BatchRun] = spec.run_model
    return (
        model.objects.filter(status=RunStatus.DONE, finished_at__isnull=False, **spec.live)
        .order_by("-finished_at", "-pk")
        .first()
    )


def unfinished_progress(spec: RunSpec) -> dict[str, Any]:
    """The unfinished live runs of ``spec``: how many in each status, and their chunks (of
    the steps planned so far) done and planned. Two queries."""
    model: type[BatchRun] = spec.run_model
    runs = model.objects.filter(status__in=UNFINISHED, **spec.live)
    grouped = runs.order_by().values("status").annotate(n=Count("pk"))
    by_status = {row["status"]: row["n"] for row in grouped}
    chunk_rows = spec.chunk_model.objects.filter(run_id__in=runs.values("pk")).aggregate(
        planned=Count("lo"), done=Count("lo", filter=Q(done_at__isnull=False))
    )
    return {
        "runs": {status: by_status.get(status, 0) for status in UNFINISHED},
        "chunks_planned": chunk_rows["planned"],
        "chunks_done": chunk_rows["done"],
    }


def is_stalled(spec: RunSpec, run: Any) -> bool:
    return stalled(spec).filter(pk=run.pk).exists()


def resume(spec: RunSpec, run_id: int) -> Any:
    """Mark a stalled run as resumed (one more attempt) before workers are sent to it. The
    dead attempt's time, up to its last progress, is added to ``duration_ms``."""
    with transaction.atomic():
        found = list(
            spec.run_model.objects.select_for_update().filter(pk=run_id, status=RunStatus.RUNNING)
        )
        if found:
            run, at = found[0], timezone.now()
            end = max(run.updated_at, run.started_at or run.updated_at)
            spec.run_model.objects.filter(pk=run_id).update(
                status=RunStatus.INTERRUPTED,
                duration_ms=_elapsed_ms(run, end),
                started_at=None,
                updated_at=at,
            )
    return spec.run_model.objects.get(pk=run_id)


def chunk_summary(spec: RunSpec, run: Any) -> dict[str, Any]:
    """Chunks of the run's current step: total, pending, leased, done; and the live leases."""
    phase = min(run.phase, len(spec.steps) - 1)
    step = spec.steps[phase]
    state = chunks.step_state(spec, run.pk, step.step) if isinstance(step, Chunked) else None
    # a finished run whose last steps are chunked steps that planned no chunk (the statement's
    # hash step of a run whose chunks hashed their own leaves) shows the step before them
    while run.phase >= len(spec.steps) and phase > 0 and state is not None and not state.total:
        phase -= 1
        step = spec.steps[phase]
        state = chunks.step_state(spec, run.pk, step.step) if isinstance(step, Chunked) else None
    summary: dict[str, Any] = {"step": step.name, "phase": run.phase}
    if isinstance(step, Chunked) and state is not None:
        summary |= {
            "total": state.total,
            "done": state.done,
            "leased": state.leased,
            "pending": state.pending - state.leased,
        }
    summary["leases"] = chunks.leases(spec, run.pk)
    return summary
