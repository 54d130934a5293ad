"""Idempotency keys scoped to the caller.

Every idempotent service books through :func:`idempotent`, inside its own transaction and
before anything is booked::

    with durable():
        return idempotent(
            scope=f"saka.plant:{member_id}", key=idempotency_key, payload={...},
            result_type=PlantResult, book=lambda: _plant(...),
        )

``payload`` is the *validated, normalised* request: the values the service parsed and will
book (``parse_amount``'s cents, a project's pk, a cleaned name), never the raw input, so ``100``
and ``"100"`` are the same request. :func:`request_hash` accepts only JSON's own types (a
``Decimal`` or a ``datetime`` there is a service that forgot to normalise: ``TypeError``).
A replay with the same payload returns the stored result (``result_type(**stored)``); the
same key with another payload raises :class:`IdempotencyConflict`; no key books every time.
:func:`replay_watch` tells the caller (the API, for its ``Idempotent-Replayed: true`` header)
whether a call inside it replayed; every replay counts in ``saka_idempotent_replays_total``
(``saka.core.metrics``), labelled with the scope's service (``saka.plant``, ...).
The record is written in the booking's transaction, so a failed booking leaves no key behind
and a concurrent duplicate waits on the unique index, then replays.
:func:`idempotency_claim` and :func:`idempotency_store` are its two halves.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import IntegrityError, transaction

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

from saka.core.db import require_atomic
from saka.core.metrics import idempotent_replays
from saka.ledger.errors import IdempotencyConflict, InvalidIdempotencyKey
from saka.ledger.models import IdempotencyRecord

MAX_KEY_LENGTH = 200


def validate_key(key: str) -> str:
    if (
        not isinstance(key, str)
        or not 1 <= len(key) <= MAX_KEY_LENGTH
        or not key.isascii()
        or not key.isprintable()
    ):
        raise InvalidIdempotencyKey()
    return key


def _canonical(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return str(value)  # a StrEnum hashes as its value
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    raise TypeError(f"idempotency payloads hold normalised JSON values, not {type(value)!r}")


def request_hash(payload: dict[str, Any]) -> str:
    """SHA-256 of the normalised request, keys sorted (the same request, the same hash)."""
    canonical = json.dumps(_canonical(payload), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class ReplayWatch:
    replayed: bool = False


_watch: ContextVar[ReplayWatch | None] = ContextVar("saka_idempotency_watch", default=None)


@contextmanager
def replay_watch() -> Iterator[ReplayWatch]:
    """``with replay_watch() as watch: service(...)``; then ``watch.replayed`` is True if the
    service answered a stored result instead of booking."""
    watch = ReplayWatch()
    token = _watch.set(watch)
    try:
        yield watch
    finally:
        _watch.reset(token)


def _replay(record: IdempotencyRecord, digest: str, key: str) -> dict[str, Any]:
    if record.request_hash != digest:
        raise IdempotencyConflict(key=key)
    idempotent_replays.labels(service=record.scope.partition(":")[0]).inc()
    watch = _watch.get()
    if watch is not None:
        watch.replayed = True
    return record.result or {}


def idempotency_claim(*, scope: str, key: str, payload: dict[str, Any]) -> dict[str, Any] | None:
    """Claim ``key`` in ``scope``; return the original result if it was used already."""
    require_atomic()
    validate_key(key)
    digest = request_hash(payload)
    existing = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
    if existing is not None:
        return _replay(existing, digest, key)
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.create(scope=scope, key=key, request_hash=digest)
    except IntegrityError:
        # A concurrent request with the same key committed first: replay it.
        return _replay(IdempotencyRecord.objects.get(scope=scope, key=key), digest, key)
    return None


def idempotency_store(*, scope: str, key: str, result: dict[str, Any]) -> None:
    require_atomic()
    IdempotencyRecord.objects.filter(scope=scope, key=key).update(result=result)


# A frozen dataclass a service returns (stored with ``asdict``, replayed with ``**``).
R = TypeVar("R", bound="DataclassInstance")


def idempotent(
    *,
    scope: str,
    key: str | None,
    payload: dict[str, Any],
    result_type: type[R],
    book: Callable[[], R],
) -> R:
    """``book()`` once per ``(scope, key)``: a replay returns the first result rebuilt as
    ``result_type``; ``key=None`` books every time. Runs inside the caller's transaction."""
    require_atomic()
    if key is None:
        return book()
    replay = idempotency_claim(scope=scope, key=key, payload=payload)
    if replay is not None:
        return result_type(**replay)
    result = book()
    idempotency_store(scope=scope, key=key, result=asdict(result))
    return result
