"""The log-in's and the tokens' own errors (``saka.api.common.errors`` maps each to its code)."""

from __future__ import annotations

from rest_framework import exceptions


class InvalidCredentials(exceptions.AuthenticationFailed):
    """401: the username and password name no active account."""

    default_detail = "Wrong username or password."
    default_code = "invalid_credentials"


class TokenExpired(exceptions.AuthenticationFailed):
    """401: the token is older than ``SAKA_TOKEN_TTL_SECONDS`` (it is deleted)."""

    default_detail = "The token has expired; log in again."
    default_code = "token_expired"


class LoginLockedOut(exceptions.Throttled):
    """429: too many log-in attempts for this username or from this address."""

    default_detail = "Too many log-in attempts; try again later."
    default_code = "login_locked_out"
