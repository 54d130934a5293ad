"""Log-in, expiring tokens and log-out (``saka.api.common.auth``): a wrong password is 401
``invalid_credentials``, attempts past the limits are 429 ``login_locked_out``, a token older
than ``SAKA_TOKEN_TTL_SECONDS`` is 401 ``token_expired``, log-out deletes the token."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

TOKEN_URL = "saka_api:token"


def _login(client: APIClient, username: str, password: str, **extra: Any) -> Any:
    return client.post(
        reverse(TOKEN_URL), {"username": username, "password": password}, format="json", **extra
    )


def test_a_wrong_password_is_401_invalid_credentials(member: Any, assert_error: Any) -> None:
    # given a member; when someone logs in with a wrong password
    response = _login(APIClient(), member.username, "wrong")
    # then it is a 401 with its own code, and the client is told how to authenticate
    assert_error(response, 401, "invalid_credentials")
    assert response["WWW-Authenticate"] == "Token"


def test_an_unknown_user_and_an_inactive_one_are_the_same_401(
    member: Any, assert_error: Any
) -> None:
    # given a deactivated member
    member.is_active = False
    member.save(update_fields=["is_active"])
    client = APIClient()
    # when they (and a nobody) log in with the right shape
    inactive = _login(client, member.username, "pw")
    nobody = _login(client, "nobody", "pw")
    # then both are invalid_credentials: nothing tells which accounts exist
    assert_error(inactive, 401, "invalid_credentials")
    assert_error(nobody, 401, "invalid_credentials")


def test_a_missing_password_is_a_validation_error(member: Any, assert_error: Any) -> None:
    response = APIClient().post(reverse(TOKEN_URL), {"username": member.username}, format="json")
    body = assert_error(response, 400, "validation_error")
    assert "password" in body["data"]["fields"]


def test_wrong_passwords_for_one_username_are_locked_out(
    member: Any, settings: Any, assert_error: Any
) -> None:
    # given the per-username limit of 10 an hour, attempts from ten different addresses
    for i in range(10):
        response = _login(APIClient(), member.username, "wrong", REMOTE_ADDR=f"10.0.0.{i + 1}")
        assert_error(response, 401, "invalid_credentials")
    # when the eleventh comes, even with the right password and from yet another address
    response = _login(APIClient(), member.username, "pw", REMOTE_ADDR="10.0.1.1")
    # then it is locked out, with a Retry-After
    body = assert_error(response, 429, "login_locked_out")
    assert int(response["Retry-After"]) > 0
    assert body["data"]["wait_seconds"] > 0
    # and another member can still log in from a fresh address
    other = type(member).objects.create_user(username="other", password="pw2")
    assert _login(APIClient(), other.username, "pw2", REMOTE_ADDR="10.0.2.1").status_code == 200


def test_one_address_guessing_many_usernames_is_locked_out(assert_error: Any) -> None:
    # given an address trying a new username each time (the per-address limit is 60 an hour)
    client = APIClient()
    codes = [
        _login(client, f"user{i}", "guess", REMOTE_ADDR="10.9.9.9").status_code for i in range(61)
    ]
    # then the first 60 are refused as wrong credentials, the 61st is locked out
    assert codes[:60] == [401] * 60
    assert_error(_login(client, "user61", "guess", REMOTE_ADDR="10.9.9.9"), 429, "login_locked_out")


def test_a_forged_forwarded_for_header_does_not_reset_the_address_count(
    assert_error: Any,
) -> None:
    # given an address that used its 60 attempts
    client = APIClient()
    for i in range(60):
        _login(client, f"user{i}", "guess", REMOTE_ADDR="10.9.9.8")
    # when it sends a made-up X-Forwarded-For
    response = _login(
        client, "someone", "guess", REMOTE_ADDR="10.9.9.8", HTTP_X_FORWARDED_FOR="1.2.3.4"
    )
    # then it is still locked out (no proxy is trusted by default)
    assert_error(response, 429, "login_locked_out")


def test_log_in_answers_the_token_and_when_it_expires(member: Any, settings: Any) -> None:
    settings.SAKA_TOKEN_TTL_SECONDS = 3600
    response = _login(APIClient(), member.username, "pw")
    assert response.status_code == 200
    body = response.json()
    token = Token.objects.get(user=member)
    assert body["token"] == token.key
    assert set(body) == {"token", "expires_at"}
    assert body["expires_at"].startswith((token.created + timedelta(hours=1)).date().isoformat())


def test_an_expired_token_is_401_token_expired_and_deleted(
    member: Any, settings: Any, assert_error: Any
) -> None:
    # given a member's token issued two hours ago, with a one-hour TTL
    settings.SAKA_TOKEN_TTL_SECONDS = 3600
    token = Token.objects.create(user=member)
    Token.objects.filter(pk=token.pk).update(created=token.created - timedelta(hours=2))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    # when it is used
    response = client.get(reverse("saka_api:saka-wallet"))
    # then it is refused with its own code and can never be used again
    assert_error(response, 401, "token_expired")
    assert not Token.objects.filter(pk=token.pk).exists()
    # and logging in again gives a new, working token
    fresh = _login(APIClient(), member.username, "pw").json()["token"]
    assert fresh != token.key
    client.credentials(HTTP_AUTHORIZATION=f"Token {fresh}")
    assert client.get(reverse("saka_api:saka-wallet")).status_code == 200


def test_a_token_within_its_ttl_works(member: Any, settings: Any) -> None:
    settings.SAKA_TOKEN_TTL_SECONDS = 3600
    token = Token.objects.create(user=member)
    Token.objects.filter(pk=token.pk).update(created=token.created - timedelta(minutes=59))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get(reverse("saka_api:saka-wallet")).status_code == 200


def test_log_out_revokes_the_token(member: Any, assert_error: Any) -> None:
    # given a member logged in with a token
    client = APIClient()
    key = _login(client, member.username, "pw").json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    # when they log out
    response = client.post(reverse("saka_api:logout"))
    # then the token is gone and no longer works
    assert response.status_code == 204
    assert not Token.objects.filter(key=key).exists()
    assert_error(client.get(reverse("saka_api:saka-wallet")), 401, "not_authenticated")


def test_log_out_needs_authentication(assert_error: Any) -> None:
    assert_error(APIClient().post(reverse("saka_api:logout")), 401, "not_authenticated")
