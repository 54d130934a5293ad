"""The payment-provider interface and the parsing helpers every provider shares.

A provider is one module: a :class:`Provider` subclass (its name, signature header, secret,
``verify``, ``parse``, and for the sender ``build_event`` and ``sign``) registered in
``providers.PROVIDERS``. The handling of a parsed event (claim, replay, conflict, booking) is
provider-independent: ``saka.euro.payments.webhooks``.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from saka.core.money import format_cents
from saka.euro.conf import MAX_DEPOSIT_CENTS
from saka.euro.errors import InvalidEvent
from saka.euro.splits import PaymentSplit, payment_split

MAX_HEADER_LENGTH = 4096
MAX_ID_LENGTH = 255


@dataclass(frozen=True)
class Payment:
    payment_id: str
    member_id: int
    project_id: int | None
    split: PaymentSplit


@dataclass(frozen=True)
class ParsedEvent:
    """A verified event: its id (unique per provider; replays share it), its type, and the
    payment to book (``None``: the event is stored and ignored)."""

    event_id: str
    event_type: str
    payment: Payment | None


class Provider(ABC):
    """One payment provider's scheme. Instances are stateless; settings are read on use."""

    name: ClassVar[str]
    signature_header: ClassVar[str]

    @abstractmethod
    def secret(self) -> str:
        """The configured signing secret (``""``: every event is refused)."""

    @abstractmethod
    def verify(self, *, payload: bytes, header: str | None, at: datetime) -> None:
        """Check ``header`` signs ``payload`` (received at ``at``). Raises
        ``WebhookNotConfigured`` (no secret) or ``InvalidSignature``."""

    @abstractmethod
    def parse(self, *, payload: bytes) -> ParsedEvent:
        """Parse and validate a verified body. Raises ``InvalidEvent`` (or another typed 4xx)."""

    def reference(self, payment_id: str) -> str:
        """The EUR entry's reference of a booked payment (namespaced by the provider)."""
        return f"{self.name}:{payment_id}"[:MAX_ID_LENGTH]

    # --- for the sender (saka_webhook_send, the demo, tests) -----------------------------

    @abstractmethod
    def build_event(
        self,
        *,
        member_id: int,
        amount: int,
        fee: int | None,
        donation: int,
        tip: int,
        project_id: int | None,
        event_id: str | None,
        payment_id: str | None,
        created: datetime,
    ) -> dict[str, Any]:
        """A payment event in the provider's shape (random ids unless given)."""

    @abstractmethod
    def sign(self, *, payload: bytes, secret: str, at: datetime) -> str:
        """The signature header's value for ``payload`` signed at ``at``."""


# --- shared parsing helpers ----------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def load_event(payload: bytes) -> dict[str, Any]:
    """The body as a JSON object (NaN/Infinity refused), else ``InvalidEvent``."""
    try:
        event = json.loads(payload.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidEvent("The body is not valid JSON.", reason="malformed_json") from exc
    if not isinstance(event, dict):
        raise InvalidEvent("The event must be a JSON object.", reason="malformed_event")
    return event


def text_field(container: dict[str, Any], key: str, path: str) -> str:
    value = container.get(key)
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= MAX_ID_LENGTH
        or not value.isascii()
        or not value.isprintable()
    ):
        raise InvalidEvent(f"{path} must be a string of 1 to 255 printable characters.", field=path)
    return value


def object_field(container: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    value = container.get(key)
    if not isinstance(value, dict):
        raise InvalidEvent(f"{path} must be an object.", field=path)
    return value


def count(value: Any, path: str, *, positive: bool = False) -> int:
    """A non-negative integer given as a JSON integer or a string of ASCII digits."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        number = int(value)
    else:
        raise InvalidEvent(f"{path} must be a non-negative integer.", field=path)
    if number < 0 or number >= 2**63 or (positive and number == 0):
        raise InvalidEvent(f"{path} is out of range.", field=path)
    return number


def optional_count(container: dict[str, Any], key: str, path: str) -> int | None:
    value = container.get(key)
    return None if value is None else count(value, path, positive=key.endswith("_id"))


def payment_build(
    *, payment_id: str, amount: int, fee: int, meta: dict[str, Any], amount_path: str
) -> Payment:
    """The payment of validated amounts and SAKA metadata (``member_id``, ``donation_cents``,
    ``project_id``, ``tip_cents``): the rules every provider's payment obeys."""
    member_id = count(meta.get("member_id"), "metadata.member_id", positive=True)
    donation = optional_count(meta, "donation_cents", "metadata.donation_cents") or 0
    tip = optional_count(meta, "tip_cents", "metadata.tip_cents") or 0
    project_id = optional_count(meta, "project_id", "metadata.project_id")
    if amount > MAX_DEPOSIT_CENTS:
        raise InvalidEvent(
            f"{amount_path} is above {format_cents(MAX_DEPOSIT_CENTS)}.", field=amount_path
        )
    if fee > amount:
        raise InvalidEvent(
            "The fee cannot exceed the amount.",
            reason="inconsistent_amounts",
            amount=amount,
            fee=fee,
        )
    if donation + tip > amount:
        raise InvalidEvent(
            "donation_cents + tip_cents cannot exceed the amount.",
            reason="inconsistent_amounts",
            amount=amount,
            donation_cents=donation,
            tip_cents=tip,
        )
    if donation and project_id is None:
        raise InvalidEvent("A donation needs metadata.project_id.", field="metadata.project_id")
    return Payment(
        payment_id=payment_id,
        member_id=member_id,
        project_id=project_id,
        split=payment_split(amount=amount, fee=fee, donation=donation, tip=tip),
    )


def saka_metadata(
    *, member_id: int, donation: int, tip: int, project_id: int | None
) -> dict[str, str]:
    """The SAKA metadata of an outgoing event (values as strings, as providers carry them)."""
    metadata = {"member_id": str(member_id)}
    if donation:
        metadata["donation_cents"] = str(donation)
    if tip:
        metadata["tip_cents"] = str(tip)
    if project_id is not None:
        metadata["project_id"] = str(project_id)
    return metadata
