"""``saka_webhook_send --provider helloasso``: a notification signed like HelloAsso's is booked
by the real handler (in process and over HTTP), its fee estimated when none is given; the same
payment id replays; a wrong or missing secret is refused and books nothing."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from saka.euro.models import WebhookEvent
from tests.support.euro import euro_balance
from tests.support.helloasso import HELLOASSO_SECRET

WEBHOOK_PATH = "/api/v1/webhooks/helloasso/"


@pytest.fixture(autouse=True)
def _secret(settings: Any) -> None:
    settings.SAKA_HELLOASSO_WEBHOOK_SECRET = HELLOASSO_SECRET
    settings.SAKA_PAYMENT_WEBHOOK_SECRET = ""  # the Stripe one is not needed


def send(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("saka_webhook_send", "--provider", "helloasso", *args, "--json", stdout=out)
    answer: dict[str, Any] = json.loads(out.getvalue())
    return answer


@pytest.mark.django_db
def test_in_process_the_fee_is_estimated_and_the_payment_id_replays(member: Any) -> None:
    # when 50.00 without a fee is sent twice with one payment id
    args = ["--in-process", "--member", member.username, "--amount", "50.00", "--payment-id", "9"]
    first, again = send(*args), send(*args)
    # then it is booked once, net of 0.8 % + 0.25 = 0.65
    assert (first["status"], first["event_id"], first["body"]["fee"]) == (
        200,
        "helloasso:payment:9",
        "0.65",
    )
    assert (again["replayed"], again["body"]) == (True, first["body"])
    assert euro_balance(member) == 4_935
    assert WebhookEvent.objects.get().provider == "helloasso"


@pytest.mark.django_db
def test_a_given_fee_is_sent(member: Any) -> None:
    answer = send("--in-process", "--member", str(member.pk), "--amount", "10", "--fee", "0")
    assert answer["body"]["fee"] == "0.00"
    assert euro_balance(member) == 1_000


@pytest.mark.django_db
def test_the_text_report_names_the_derived_event(member: Any) -> None:
    out = io.StringIO()
    call_command(
        "saka_webhook_send",
        *("--provider", "helloasso", "--in-process", "--member", str(member.pk)),
        *("--amount", "10", "--payment-id", "44"),
        stdout=out,
    )
    assert out.getvalue().startswith("200 booked: event helloasso:payment:44, payment 44, 10.00")


@pytest.mark.django_db
def test_a_wrong_secret_is_refused_and_books_nothing(member: Any) -> None:
    with pytest.raises(CommandError, match="400 invalid_signature"):
        send("--in-process", "--member", str(member.pk), "--amount", "5", "--secret", "nope")
    assert euro_balance(member) == 0
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_without_its_secret_nothing_is_sent(member: Any, settings: Any) -> None:
    settings.SAKA_HELLOASSO_WEBHOOK_SECRET = ""
    with pytest.raises(CommandError, match="SAKA_HELLOASSO_WEBHOOK_SECRET"):
        send("--in-process", "--member", str(member.pk), "--amount", "5")
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--event-id", "evt_1"], "--event-id is for stripe only"),
        (["--payment-id", "pi_1"], "--payment-id must be a positive integer"),
        (["--payment-id", "0"], "--payment-id must be a positive integer"),
    ],
)
def test_stripe_only_arguments_are_refused(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        send("--in-process", "--member", "1", "--amount", "5", *args)


@pytest.mark.django_db(transaction=True)
def test_over_http_a_running_server_books_it(live_server: Any, member: Any) -> None:
    url = f"{live_server.url}{WEBHOOK_PATH}"
    args = ["--url", url, "--member", str(member.pk), "--amount", "20.00", "--payment-id", "5"]
    first, again = send(*args), send(*args)
    assert (first["status"], first["body"]["status"]) == (200, "booked")
    assert (again["status"], again["replayed"]) == (200, True)
    assert euro_balance(member) == 2_000 - 41
