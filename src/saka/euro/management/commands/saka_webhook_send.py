"""Sign and send one payment event as a provider does (``saka.euro.payments.sender``): to a
running server's webhook URL, or in this process through the handler the REST view calls.
``--provider stripe`` (default) or ``helloasso`` chooses the scheme (docs/providers.md).

Operators use it to check their set-up (same secret on both ends, the URL reachable, a
deposit booked); the demo books its deposits the same way (``--in-process``).
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from saka.core.clock import check_instant, parse_instant
from saka.core.errors import DomainError
from saka.core.money import MAX_AMOUNT, format_cents, parse_cents
from saka.euro.payments.providers import (
    DEFAULT_PROVIDER,
    PROVIDERS,
    ParsedEvent,
    Provider,
    provider_get,
)
from saka.euro.payments.sender import (
    Delivery,
    deliver_http,
    deliver_in_process,
    payment_event,
)


def _cents(value: str | None, name: str) -> int:
    return (
        0 if value is None else parse_cents(value, field=name, maximum=MAX_AMOUNT, allow_zero=True)
    )


SECRET_SETTINGS = {
    "stripe": "SAKA_PAYMENT_WEBHOOK_SECRET",
    "helloasso": "SAKA_HELLOASSO_WEBHOOK_SECRET",
}


class Command(BaseCommand):
    help = (
        "Sign a payment event of --provider (stripe: payment_intent.succeeded with "
        "SAKA_PAYMENT_WEBHOOK_SECRET; helloasso: Payment with SAKA_HELLOASSO_WEBHOOK_SECRET; "
        "or --secret) and POST it to --url, or deliver it --in-process; print the answer."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument(
            "--url",
            help="the webhook URL, e.g. http://127.0.0.1:8000/api/v1/webhooks/payments/ "
            "(helloasso: .../webhooks/helloasso/)",
        )
        target.add_argument(
            "--in-process", action="store_true", help="through the webhook handler, no server"
        )
        parser.add_argument(
            "--provider",
            choices=sorted(PROVIDERS),
            default=DEFAULT_PROVIDER,
            help=f"the provider's scheme (default {DEFAULT_PROVIDER})",
        )
        parser.add_argument("--member", required=True, help="member id or username")
        parser.add_argument("--amount", required=True, help='gross EUR amount, e.g. "50.00"')
        parser.add_argument(
            "--fee",
            help='processor fee in EUR (default: "0" for stripe; none for helloasso, which the '
            "receiver then estimates)",
        )
        parser.add_argument("--donation", help="part of the amount donated to --project")
        parser.add_argument("--project", type=int, help="project id of the donation")
        parser.add_argument("--tip", help="part of the amount tipped to the platform")
        parser.add_argument(
            "--event-id",
            help="event id (default: random; the same id replays; stripe only: HelloAsso's is "
            "derived from the payment id)",
        )
        parser.add_argument(
            "--payment-id", help="payment id (default: random; digits for helloasso)"
        )
        parser.add_argument(
            "--secret", help="signing secret (default: the provider's configured secret)"
        )
        parser.add_argument(
            "--as-of",
            help="with --in-process: the instant the event is signed and received at "
            "(ISO 8601 with offset; default now)",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["provider"]
        provider = provider_get(name=name)
        secret = options["secret"] if options["secret"] is not None else provider.secret()
        if not secret:
            setting = SECRET_SETTINGS.get(name, "the provider's secret setting")
            raise CommandError(
                f"No secret: set {setting} (the provider's signing secret) or pass --secret."
            )
        if name != DEFAULT_PROVIDER and options["event_id"] is not None:
            raise CommandError(f"--event-id is for stripe only ({name} derives its event ids).")
        payment_id = options["payment_id"]
        if (
            name == "helloasso"
            and payment_id is not None
            and not (payment_id.isascii() and payment_id.isdigit() and 0 < int(payment_id) < 2**63)
        ):
            raise CommandError("--payment-id must be a positive integer for helloasso.")
        if options["as_of"] is not None and not options["in_process"]:
            raise CommandError("--as-of is for --in-process only (a server checks its own clock).")
        try:
            as_of = (
                None if options["as_of"] is None else check_instant(parse_instant(options["as_of"]))
            )
            event = payment_event(
                member_id=self._member_id(options["member"]),
                amount=parse_cents(options["amount"], maximum=MAX_AMOUNT),
                fee=(
                    None
                    if options["fee"] is None and name != DEFAULT_PROVIDER
                    else _cents(options["fee"], "fee")
                ),
                donation=_cents(options["donation"], "donation"),
                tip=_cents(options["tip"], "tip"),
                project_id=options["project"],
                event_id=options["event_id"],
                payment_id=payment_id,
                created=as_of,
                provider=name,
            )
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        if options["in_process"]:
            delivery = deliver_in_process(event, secret=secret, as_of=as_of, provider=name)
        else:
            try:
                delivery = deliver_http(event, secret=secret, url=options["url"], provider=name)
            except (OSError, ValueError) as exc:
                raise CommandError(f"cannot deliver to {options['url']}: {exc}") from exc
        self._report(event, self._parsed(provider, event), delivery, as_json=options["json"])
        if not delivery.ok:
            raise CommandError(f"refused: {delivery.status} {delivery.code}")

    def _member_id(self, value: str) -> int:
        if value.isascii() and value.isdigit():
            return int(value)
        found = get_user_model().objects.filter(username=value).values_list("pk", flat=True).first()
        if found is None:
            raise CommandError(f"no user named {value!r}")
        return int(found)

    def _parsed(self, provider: Provider, event: dict[str, Any]) -> ParsedEvent | None:
        """The sent event as the receiver reads it (its id, payment), for the report."""
        try:
            return provider.parse(payload=json.dumps(event).encode())
        except DomainError:
            return None

    def _report(
        self,
        sent: dict[str, Any],
        event: ParsedEvent | None,
        delivery: Delivery,
        *,
        as_json: bool,
    ) -> None:
        if as_json:
            self.stdout.write(
                json.dumps(
                    {
                        "event_id": event.event_id if event else sent.get("id"),
                        "status": delivery.status,
                        "code": delivery.code,
                        "replayed": delivery.replayed,
                        "body": delivery.body,
                    }
                )
            )
            return
        if delivery.ok and event is not None and event.payment is not None:
            payment = event.payment
            state = "replayed" if delivery.replayed else delivery.body.get("status", "processed")
            self.stdout.write(
                f"{delivery.status} {state}: event {event.event_id}, payment "
                f"{payment.payment_id}, {format_cents(payment.split.amount)} EUR for member "
                f"{payment.member_id} (entry {delivery.body.get('entry_id')})"
            )
        else:
            message = delivery.body.get("message", "")
            self.stderr.write(f"{delivery.status} {delivery.code}: {message}")
