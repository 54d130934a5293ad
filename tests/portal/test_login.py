"""Logging in and out of the member pages with a browser session: where each user lands, the
anonymous visitor sent to the log-in page, one message for every failed log-in (it never says
whether a username exists), CSRF on the form, log-out by POST only."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
LOGOUT = "/accounts/logout/"


def _log_in(client: Client, username: str, password: str, **extra: Any) -> Any:
    return client.post(LOGIN, {"username": username, "password": password, **extra})


def test_a_member_logs_in_and_lands_on_their_page(member: Any) -> None:
    # given the log-in page
    client = Client()
    assert client.get(LOGIN).status_code == 200
    # when the member logs in with their password
    response = _log_in(
        client,
        member.username,
        "pw",
    )
    # then they go through the landing view to /me/, which they can read
    assert (response.status_code, response["Location"]) == (302, "/accounts/home/")
    landed = client.get("/accounts/home/")
    assert landed["Location"] == "/me/"
    assert client.get("/me/").status_code == 200


@pytest.mark.parametrize(
    ("roles", "superuser", "lands_on"),
    [
        (["auditor"], False, "/dashboard/"),
        (["run_operator"], False, "/dashboard/"),
        ([], True, "/dashboard/"),
        (["saka_adjuster"], False, "/me/"),  # staff without view_staff_data
        ([], False, "/me/"),
    ],
    ids=["auditor", "run_operator", "superuser", "adjuster", "staff_without_roles"],
)
def test_staff_who_read_the_staff_views_land_on_the_dashboard(
    make_user: Any, roles: list[str], superuser: bool, lands_on: str
) -> None:
    # given a staff user with these roles
    user = make_user(staff=True, roles=roles, is_superuser=superuser)
    client = Client()
    # when they log in
    _log_in(client, user.username, "pw")
    # then the landing view sends them where they belong
    assert client.get("/accounts/home/")["Location"] == lands_on


def test_the_next_page_is_honoured_but_never_another_site(member: Any) -> None:
    # given an anonymous visitor sent to the log-in page from the SAKA statement
    client = Client()
    sent = client.get("/me/statement/saka/")
    assert sent["Location"] == "/accounts/login/?next=/me/statement/saka/"
    # when they log in with that next page, then they go back to it
    assert _log_in(client, member.username, "pw", next="/me/statement/saka/")["Location"] == (
        "/me/statement/saka/"
    )
    # and a next page on another site is ignored
    other = Client()
    assert _log_in(other, member.username, "pw", next="https://evil.example/")["Location"] == (
        "/accounts/home/"
    )


@pytest.mark.parametrize(
    "url",
    [
        "/me/",
        "/me/statement/saka/",
        "/me/statement/eur/",
        "/me/statement/saka.csv",
        "/me/statement/eur.csv",
        "/accounts/home/",
    ],
)
def test_an_anonymous_visitor_is_sent_to_the_log_in_page(url: str) -> None:
    # when an anonymous visitor opens a member page
    response = Client().get(url)
    # then they are sent to log in, and back here afterwards
    assert (response.status_code, response["Location"]) == (302, f"{LOGIN}?next={url}")


def _page_without_secrets(response: Any, username: str) -> str:
    """The page with the CSRF token and the echoed username taken out."""
    text = response.content.decode()
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "TOKEN", text)
    return text.replace(f'value="{username}"', 'value="NAME"')


def test_a_failed_log_in_never_says_whether_the_username_exists(make_user: Any) -> None:
    # given a member and an inactive member, both with the password "pw"
    known = make_user()
    inactive = make_user(is_active=False)
    # when someone tries a wrong password, an unknown username, and the inactive one's
    wrong = _log_in(Client(), known.username, "not-it")
    unknown = _log_in(Client(), "nobody-by-that-name", "not-it")
    asleep = _log_in(Client(), inactive.username, "pw")
    # then each answer is the same page, with the same one message, and nobody is logged in
    pages = {
        _page_without_secrets(wrong, known.username),
        _page_without_secrets(unknown, "nobody-by-that-name"),
        _page_without_secrets(asleep, inactive.username),
    }
    assert len(pages) == 1
    assert {wrong.status_code, unknown.status_code, asleep.status_code} == {200}
    assert 'data-testid="login-error"' in pages.pop()
    assert "_auth_user_id" not in wrong.wsgi_request.session


def test_the_log_in_form_needs_its_csrf_token(member: Any) -> None:
    # given a client that enforces CSRF like a browser
    client = Client(enforce_csrf_checks=True)
    # when the form is posted without the token, then it is refused
    assert _log_in(client, member.username, "pw").status_code == 403
    # and with the token from the page it logs in
    client.get(LOGIN)
    token = client.cookies["csrftoken"].value
    response = _log_in(client, member.username, "pw", csrfmiddlewaretoken=token)
    assert response.status_code == 302


def test_log_out_is_a_post_and_ends_the_session(member: Any) -> None:
    # given a logged-in member
    client = Client()
    client.force_login(member)
    # when they GET the log-out URL, then nothing happens (Django 5: POST only)
    assert client.get(LOGOUT).status_code == 405
    assert client.get("/me/").status_code == 200
    # when they POST it (the pages' log-out button), then they are out, back at the log-in
    response = client.post(LOGOUT)
    assert (response.status_code, response["Location"]) == (302, LOGIN)
    assert client.get("/me/").status_code == 302
