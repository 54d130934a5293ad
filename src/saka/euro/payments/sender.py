"""Sending payment events as a provider does: build a payment event in the provider's shape
(Stripe's ``payment_intent.succeeded`` by default, or HelloAsso's ``Payment``), sign it with the
webhook secret (the provider's ``sign``) and deliver it, over HTTP to a running server
(``deliver_http``, stdlib ``urllib``) or in this process through the handler the REST view
calls (``deliver_in_process``). Used by ``saka_webhook_send`` (operators checking
their provider set-up) and by the demo (``saka_demo`` books its deposits this way).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from saka.core.clock import ensure_aware, now
from saka.core.errors import DomainError
from saka.euro.payments.providers import DEFAULT_PROVIDER, provider_get
from saka.euro.payments.webhooks import payment_webhook_handle

HTTP_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Delivery:
    """What the receiving end answered: HTTP status, error code (``""`` on success), body."""

    status: int
    code: str
    body: dict[str, Any] = field(default_factory=dict)
    replayed: bool = False

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def payment_event(
    *,
    member_id: int,
    amount: int,
    fee: int | None = 0,
    donation: int = 0,
    tip: int = 0,
    project_id: int | None = None,
    event_id: str | None = None,
    payment_id: str | None = None,
    created: datetime | None = None,
    provider: str = DEFAULT_PROVIDER,
) -> dict[str, Any]:
    """A payment event in ``provider``'s shape (integer cents; metadata values as strings).
    Ids are random unless given (a given event id replays; HelloAsso's event id is derived
    from its payment id, which must then be digits). ``fee=None``: Stripe books 0, HelloAsso's
    event carries no fee (the receiver estimates it)."""
    return provider_get(name=provider).build_event(
        member_id=member_id,
        amount=amount,
        fee=fee,
        donation=donation,
        tip=tip,
        project_id=project_id,
        event_id=event_id,
        payment_id=payment_id,
        created=ensure_aware(created or now()),
    )


def signed(
    event: dict[str, Any],
    *,
    secret: str,
    at: datetime | None = None,
    provider: str = DEFAULT_PROVIDER,
) -> tuple[bytes, str]:
    """The body and its signature header's value (``provider``'s scheme), signed at ``at``
    (default now)."""
    body = json.dumps(event, separators=(",", ":")).encode()
    return body, provider_get(name=provider).sign(
        payload=body, secret=secret, at=ensure_aware(at or now())
    )


def deliver_in_process(
    event: dict[str, Any],
    *,
    secret: str,
    as_of: datetime | None = None,
    provider: str = DEFAULT_PROVIDER,
) -> Delivery:
    """Sign ``event`` at ``as_of`` (default now) and hand it to the webhook handler the REST
    view calls, in this process, as received at ``as_of``. A refusal is a ``Delivery`` with
    the status and code the view would answer, not an exception."""
    at = ensure_aware(as_of or now())
    body, header = signed(event, secret=secret, at=at, provider=provider)
    try:
        outcome = payment_webhook_handle(
            payload=body, signature=header, as_of=at, provider=provider
        )
    except DomainError as exc:
        return Delivery(status=exc.http_status, code=str(exc.code), body=exc.as_dict())
    return Delivery(status=200, code="", body=outcome.body, replayed=outcome.replayed)


def deliver_http(
    event: dict[str, Any], *, secret: str, url: str, provider: str = DEFAULT_PROVIDER
) -> Delivery:
    """Sign ``event`` now and POST it to ``url`` (http or https). Raises ``OSError`` when
    the server cannot be reached; any HTTP answer is a ``Delivery``."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"not an http(s) URL: {url!r}")
    body, header = signed(event, secret=secret, provider=provider)
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            provider_get(name=provider).signature_header: header,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:  # noqa: S310
            status, raw = response.status, response.read()
            replayed = response.headers.get("Idempotent-Replayed") == "true"
    except urllib.error.HTTPError as exc:
        status, raw, replayed = exc.code, exc.read(), False
    try:
        answer = json.loads(raw.decode("utf-8")) if raw else {}
    except (UnicodeDecodeError, ValueError):
        answer = {"raw": raw[:500].decode("utf-8", "replace")}
    if not isinstance(answer, dict):
        answer = {"raw": answer}
    code = "" if 200 <= status < 300 else str(answer.get("code", f"http_{status}"))
    return Delivery(status=status, code=code, body=answer, replayed=replayed)
