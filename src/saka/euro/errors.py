"""EUR domain errors; each has a stable code (``saka.core.errors.ErrorCode``) and an HTTP status."""

from saka.core.errors import DomainError, ErrorCode


class WebhookNotConfigured(DomainError):
    code = ErrorCode.WEBHOOK_NOT_CONFIGURED
    http_status = 503
    default_message = "Payment webhooks are refused: no signing secret is configured."


class InvalidSignature(DomainError):
    code = ErrorCode.INVALID_SIGNATURE
    http_status = 400
    default_message = "The webhook signature is missing, malformed, stale or wrong."


class InvalidEvent(DomainError):
    code = ErrorCode.INVALID_EVENT
    http_status = 400
    default_message = "The webhook event is malformed or inconsistent."


class UnsupportedCurrency(DomainError):
    code = ErrorCode.UNSUPPORTED_CURRENCY
    http_status = 400
    default_message = "Only EUR payments are accepted."


class EventConflict(DomainError):
    code = ErrorCode.EVENT_CONFLICT
    http_status = 409
    default_message = "This event or payment was already processed with another content."


class PocketNotFound(DomainError):
    code = ErrorCode.POCKET_NOT_FOUND
    http_status = 404
    default_message = "No such pocket."


class PocketLimitReached(DomainError):
    code = ErrorCode.POCKET_LIMIT_REACHED
    http_status = 409
    default_message = "A wallet has at most 100 pockets."


class AllocationExceeded(DomainError):
    code = ErrorCode.ALLOCATION_EXCEEDED
    http_status = 409
    default_message = "The pockets' percentages of a wallet cannot exceed 100 in total."


class CampaignNotFound(DomainError):
    code = ErrorCode.CAMPAIGN_NOT_FOUND
    http_status = 404
    default_message = "No such campaign."


class CampaignNotOpen(DomainError):
    code = ErrorCode.CAMPAIGN_NOT_OPEN
    http_status = 409
    default_message = "The project has no campaign open for pledges."


class CampaignNotClosed(DomainError):
    code = ErrorCode.CAMPAIGN_NOT_CLOSED
    http_status = 409
    default_message = "The campaign is still open: set its outcome before settling it."


class CampaignAlreadyOpen(DomainError):
    code = ErrorCode.CAMPAIGN_ALREADY_OPEN
    http_status = 409
    default_message = "The project already has an open campaign."


class PledgeNotFound(DomainError):
    code = ErrorCode.PLEDGE_NOT_FOUND
    http_status = 404
    default_message = "No such pledge."


class PledgeNotHeld(DomainError):
    code = ErrorCode.PLEDGE_NOT_HELD
    http_status = 409
    default_message = "The pledge is no longer held in escrow."


class EquityPledgesDisabled(DomainError):
    code = ErrorCode.EQUITY_PLEDGES_DISABLED
    http_status = 403
    default_message = "Equity pledges are not enabled on this platform."


class KycRequired(DomainError):
    code = ErrorCode.KYC_REQUIRED
    http_status = 403
    default_message = "Equity pledges need a KYC-verified member."


class SettlementNotFound(DomainError):
    code = ErrorCode.SETTLEMENT_NOT_FOUND
    http_status = 404
    default_message = "This campaign has no settlement yet."
