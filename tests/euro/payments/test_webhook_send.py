"""``saka_webhook_send``: an event signed like the provider's is accepted by the real handler,
in this process and over HTTP against a running server; the same ids replay; a wrong or
missing secret is refused and books nothing."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from saka.core.clock import now
from saka.euro.models import EuroEntry, WebhookEvent
from tests.support.euro import SECRET, euro_balance

WEBHOOK_PATH = "/api/v1/webhooks/payments/"


@pytest.fixture(autouse=True)
def _secret(settings: Any) -> None:
    settings.SAKA_PAYMENT_WEBHOOK_SECRET = SECRET


def send(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("saka_webhook_send", *args, "--json", stdout=out)
    answer: dict[str, Any] = json.loads(out.getvalue())
    return answer


@pytest.mark.django_db
def test_an_in_process_delivery_books_the_deposit_and_the_same_ids_replay(member: Any) -> None:
    # when an event of 50.00 (fee 1.20) is sent in process, by username, twice with its ids
    ids = ["--event-id", "evt_check_1", "--payment-id", "pi_check_1"]
    args = ["--in-process", "--member", member.username, "--amount", "50.00", "--fee", "1.20"]
    first = send(*args, *ids)
    again = send(*args, *ids)
    # then the handler verified and booked it once: the wallet holds the net amount
    assert (first["status"], first["code"], first["body"]["status"]) == (200, "", "booked")
    assert first["body"]["wallet"]["net"] == "48.80"
    assert (again["status"], again["replayed"], again["body"]) == (200, True, first["body"])
    assert euro_balance(member) == 4_880
    assert WebhookEvent.objects.filter(event_id="evt_check_1").count() == 1


@pytest.mark.django_db
def test_a_back_dated_in_process_delivery_is_booked_at_its_instant(member: Any) -> None:
    # when an event is sent in process as of three days ago
    at = (now() - timedelta(days=3)).replace(microsecond=0)
    answer = send(
        "--in-process", "--member", str(member.pk), "--amount", "10", "--as-of", at.isoformat()
    )
    # then its entry is dated then (the signature's timestamp is that instant too)
    assert answer["status"] == 200
    assert EuroEntry.objects.get(pk=answer["body"]["entry_id"]).created_at == at


@pytest.mark.django_db
def test_a_wrong_secret_is_refused_and_books_nothing(member: Any) -> None:
    # when the event is signed with another secret than the handler's
    err = io.StringIO()
    with pytest.raises(CommandError, match="400 invalid_signature"):
        call_command(
            "saka_webhook_send",
            "--in-process",
            "--member",
            str(member.pk),
            "--amount",
            "50.00",
            "--secret",
            "whsec_not_the_one",
            stderr=err,
        )
    # then the refusal is reported with its code, and nothing is booked or stored
    assert "invalid_signature" in err.getvalue()
    assert euro_balance(member) == 0
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_without_a_secret_nothing_is_sent(member: Any, settings: Any) -> None:
    settings.SAKA_PAYMENT_WEBHOOK_SECRET = ""
    with pytest.raises(CommandError, match="No secret"):
        call_command(
            "saka_webhook_send", "--in-process", "--member", str(member.pk), "--amount", "5"
        )
    assert not WebhookEvent.objects.exists()


def test_as_of_is_refused_over_http() -> None:
    with pytest.raises(CommandError, match="--as-of is for --in-process"):
        call_command(
            "saka_webhook_send",
            "--url",
            "http://127.0.0.1:9/",
            "--member",
            "1",
            "--amount",
            "5",
            "--as-of",
            "2026-01-01T00:00:00Z",
        )


@pytest.mark.django_db(transaction=True)
def test_over_http_a_running_server_books_it(live_server: Any, member: Any) -> None:
    # when the event is POSTed to a running server's webhook URL, then again with its ids
    url = f"{live_server.url}{WEBHOOK_PATH}"
    ids = ["--event-id", "evt_http_1", "--payment-id", "pi_http_1"]
    first = send("--url", url, "--member", str(member.pk), "--amount", "20.00", *ids)
    again = send("--url", url, "--member", str(member.pk), "--amount", "20.00", *ids)
    # then the server verified and booked it once, and answered the replay as a replay
    assert (first["status"], first["body"]["status"]) == (200, "booked")
    assert (again["status"], again["replayed"]) == (200, True)
    assert euro_balance(member) == 2_000


@pytest.mark.django_db(transaction=True)
def test_over_http_a_refusal_reports_the_servers_code(live_server: Any, member: Any) -> None:
    # when the event is signed with a secret the server does not have
    url = f"{live_server.url}{WEBHOOK_PATH}"
    with pytest.raises(CommandError, match="400 invalid_signature"):
        send("--url", url, "--member", str(member.pk), "--amount", "20", "--secret", "nope")
    # then nothing is booked
    assert euro_balance(member) == 0
