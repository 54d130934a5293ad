"""Sign and send one payment event as the provider does (``saka.euro.payments.sender``): to a
running server's webhook URL, or in this process through the handler the REST view calls.

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
from saka.euro.conf import get_settings
from saka.euro.payments.sender import Delivery, deliver_http, deliver_in_process, payment_event


def _cents(value: str | None, name: str) -> int:
    return (
        0 if value is None else parse_cents(value, field=name, maximum=MAX_AMOUNT, allow_zero=True)
    )


class Command(BaseCommand):
    help = (
        "Sign a payment_intent.succeeded event with SAKA_PAYMENT_WEBHOOK_SECRET (or --secret) "
        "and POST it to --url, or deliver it --in-process; print the answer (status, code)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument(
            "--url", help="the webhook URL, e.g. http://127.0.0.1:8000/api/v1/webhooks/payments/"
        )
        target.add_argument(
            "--in-process", action="store_true", help="through the webhook handler, no server"
        )
        parser.add_argument("--member", required=True, help="member id or username")
        parser.add_argument("--amount", required=True, help='gross EUR amount, e.g. "50.00"')
        parser.add_argument("--fee", help='processor fee in EUR (default "0")')
        parser.add_argument("--donation", help="part of the amount donated to --project")
        parser.add_argument("--project", type=int, help="project id of the donation")
        parser.add_argument("--tip", help="part of the amount tipped to the platform")
        parser.add_argument("--event-id", help="event id (default: random; the same id replays)")
        parser.add_argument("--payment-id", help="payment id (default: random)")
        parser.add_argument(
            "--secret", help="signing secret (default: SAKA_PAYMENT_WEBHOOK_SECRET)"
        )
        parser.add_argument(
            "--as-of",
            help="with --in-process: the instant the event is signed and received at "
            "(ISO 8601 with offset; default now)",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        secret = (
            options["secret"] if options["secret"] is not None else get_settings().webhook_secret
        )
        if not secret:
            raise CommandError(
                "No secret: set SAKA_PAYMENT_WEBHOOK_SECRET (the provider's signing secret) or "
                "pass --secret."
            )
        if options["as_of"] is not None and not options["in_process"]:
            raise CommandError("--as-of is for --in-process only (a server checks its own clock).")
        try:
            as_of = (
                None if options["as_of"] is None else check_instant(parse_instant(options["as_of"]))
            )
            event = payment_event(
                member_id=self._member_id(options["member"]),
                amount=parse_cents(options["amount"], maximum=MAX_AMOUNT),
                fee=_cents(options["fee"], "fee"),
                donation=_cents(options["donation"], "donation"),
                tip=_cents(options["tip"], "tip"),
                project_id=options["project"],
                event_id=options["event_id"],
                payment_id=options["payment_id"],
                created=as_of,
            )
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        if options["in_process"]:
            delivery = deliver_in_process(event, secret=secret, as_of=as_of)
        else:
            try:
                delivery = deliver_http(event, secret=secret, url=options["url"])
            except (OSError, ValueError) as exc:
                raise CommandError(f"cannot deliver to {options['url']}: {exc}") from exc
        self._report(event, delivery, as_json=options["json"])
        if not delivery.ok:
            raise CommandError(f"refused: {delivery.status} {delivery.code}")

    def _member_id(self, value: str) -> int:
        if value.isascii() and value.isdigit():
            return int(value)
        found = get_user_model().objects.filter(username=value).values_list("pk", flat=True).first()
        if found is None:
            raise CommandError(f"no user named {value!r}")
        return int(found)

    def _report(self, event: dict[str, Any], delivery: Delivery, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(
                json.dumps(
                    {
                        "event_id": event["id"],
                        "status": delivery.status,
                        "code": delivery.code,
                        "replayed": delivery.replayed,
                        "body": delivery.body,
                    }
                )
            )
            return
        obj = event["data"]["object"]
        if delivery.ok:
            state = "replayed" if delivery.replayed else delivery.body.get("status", "processed")
            self.stdout.write(
                f"{delivery.status} {state}: event {event['id']}, payment {obj['id']}, "
                f"{format_cents(obj['amount'])} EUR for member "
                f"{obj['metadata']['member_id']} (entry {delivery.body.get('entry_id')})"
            )
        else:
            message = delivery.body.get("message", "")
            self.stderr.write(f"{delivery.status} {delivery.code}: {message}")
