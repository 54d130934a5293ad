"""Payment providers behind one interface (``base.Provider``): ``PROVIDERS`` maps each name
(the webhook URL's and ``saka_webhook_send --provider``'s) to its scheme. Adding a provider is
one module here and one line below (docs/providers.md)."""

from __future__ import annotations

from saka.euro.payments.providers.base import ParsedEvent, Payment, Provider
from saka.euro.payments.providers.helloasso import HelloAssoProvider
from saka.euro.payments.providers.stripe import StripeProvider

PROVIDERS: dict[str, Provider] = {
    "stripe": StripeProvider(),
    "helloasso": HelloAssoProvider(),
}
DEFAULT_PROVIDER = "stripe"


def provider_get(*, name: str) -> Provider:
    """The registered provider ``name`` (``KeyError`` when unknown: a programming error)."""
    return PROVIDERS[name]


__all__ = ["DEFAULT_PROVIDER", "PROVIDERS", "ParsedEvent", "Payment", "Provider", "provider_get"]
