"""EUR settings, validated at start-up (a bad value refuses to start with a clear message).

- ``SAKA_PAYMENT_WEBHOOK_SECRET`` (default ``""``): HMAC secret of the payment webhooks;
  empty: every webhook is refused.
- ``SAKA_PAYMENT_WEBHOOK_TOLERANCE_SECONDS`` (300, 1..86400): max age (and clock skew) of
  a signature's timestamp.
- ``SAKA_HELLOASSO_WEBHOOK_SECRET`` (default ``""``): HMAC secret of the HelloAsso webhooks;
  empty: every HelloAsso webhook is refused.
- ``SAKA_HELLOASSO_FEE_RATE`` (``"0.008"``, 0 <= r < 1, at most 6 decimals) and
  ``SAKA_HELLOASSO_FEE_FIXED_CENTS`` (25, 0..10000): the fee estimated for a HelloAsso payment
  whose event carries none (docs/providers.md).
- ``SAKA_PLATFORM_COMMISSION_RATE`` (``"0.05"``, 0 <= r < 1, at most 6 decimals): the
  platform's commission on released pledges.
- ``SAKA_EQUITY_PLEDGES_ENABLED`` (False): equity pledges (KYC-verified members only).
- ``SAKA_SETTLEMENT_BATCH_SIZE`` (500, 1..10000): held pledges per settlement chunk (the name
  predates the batch engine: a chunk is what a batch was).
- ``SAKA_RUN_WORKERS`` (2, 1..32): threads an in-process settlement is done by on PostgreSQL
  (the SAKA runs read it too).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

MAX_POCKETS = 100
MAX_PLEDGE_CENTS = 100_000_00  # 100,000.00 EUR
MAX_DEPOSIT_CENTS = 1_000_000_00  # 1,000,000.00 EUR per payment
MAX_SETTLEMENT_CHUNK = 10_000
MAX_WORKERS = 32
MAX_FIXED_FEE_CENTS = 100_00


@dataclass(frozen=True)
class EuroSettings:
    webhook_secret: str
    webhook_tolerance_seconds: int
    commission_rate: Decimal
    equity_pledges_enabled: bool
    settlement_chunk_size: int
    run_workers: int
    helloasso_webhook_secret: str = ""
    helloasso_fee_rate: Decimal = Decimal("0.008")
    helloasso_fee_fixed_cents: int = 25


def _int(name: str, default: int, low: int, high: int) -> int:
    value = getattr(settings, name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ImproperlyConfigured(f"{name} must be an integer in {low}..{high}, got {value!r}.")
    return value


def parse_commission_rate(value: Any, *, name: str = "SAKA_PLATFORM_COMMISSION_RATE") -> Decimal:
    """A rate in [0, 1) read exactly (strings or Decimals; floats through ``str``)."""
    if isinstance(value, bool):
        raise ImproperlyConfigured(f"{name} must be a decimal in [0, 1), got {value!r}.")
    try:
        rate = Decimal(str(value)) if isinstance(value, float | int) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise ImproperlyConfigured(f"{name} must be a decimal in [0, 1), got {value!r}.") from exc
    if not rate.is_finite() or not Decimal(0) <= rate < Decimal(1):
        raise ImproperlyConfigured(f"{name} must be a decimal in [0, 1), got {value!r}.")
    if rate != rate.quantize(Decimal("0.000001")):
        raise ImproperlyConfigured(f"{name} has at most 6 decimal places, got {value!r}.")
    return rate


def _secret(name: str) -> str:
    secret = getattr(settings, name, "")
    if secret is None:
        secret = ""
    if not isinstance(secret, str):
        raise ImproperlyConfigured(f"{name} must be a string.")
    return secret


def load_settings() -> EuroSettings:
    """Read and validate every EUR setting; raise ImproperlyConfigured when one is off."""
    secret = _secret("SAKA_PAYMENT_WEBHOOK_SECRET")
    equity = getattr(settings, "SAKA_EQUITY_PLEDGES_ENABLED", False)
    if not isinstance(equity, bool):
        raise ImproperlyConfigured(
            f"SAKA_EQUITY_PLEDGES_ENABLED must be True or False, got {equity!r}."
        )
    return EuroSettings(
        webhook_secret=secret,
        webhook_tolerance_seconds=_int("SAKA_PAYMENT_WEBHOOK_TOLERANCE_SECONDS", 300, 1, 86_400),
        commission_rate=parse_commission_rate(
            getattr(settings, "SAKA_PLATFORM_COMMISSION_RATE", "0.05")
        ),
        equity_pledges_enabled=equity,
        settlement_chunk_size=_int("SAKA_SETTLEMENT_BATCH_SIZE", 500, 1, MAX_SETTLEMENT_CHUNK),
        run_workers=_int("SAKA_RUN_WORKERS", 2, 1, MAX_WORKERS),
        helloasso_webhook_secret=_secret("SAKA_HELLOASSO_WEBHOOK_SECRET"),
        helloasso_fee_rate=parse_commission_rate(
            getattr(settings, "SAKA_HELLOASSO_FEE_RATE", "0.008"), name="SAKA_HELLOASSO_FEE_RATE"
        ),
        helloasso_fee_fixed_cents=_int(
            "SAKA_HELLOASSO_FEE_FIXED_CENTS", 25, 0, MAX_FIXED_FEE_CENTS
        ),
    )


@cache
def get_settings() -> EuroSettings:
    return load_settings()


def _reset(**kwargs: Any) -> None:
    if str(kwargs.get("setting", "")).startswith("SAKA_"):
        get_settings.cache_clear()


setting_changed.connect(_reset)
