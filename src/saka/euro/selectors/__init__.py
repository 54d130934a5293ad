"""EUR reads (selectors), one module per topic; every name is importable from here.

- ``wallets``: balances, the wallet summary, pockets, history, pledges of a member;
- ``assets``: the member's assets overview and the public EUR settings;
- ``campaigns``: campaigns (goal, raised, lists) and their settlements (progress, stalls).

They may import ``saka.core``, ``saka.ledger``, ``saka.projects`` and the EUR app's models,
accounts, conf and errors; never ``saka.grains``, the API or the jobs.
"""

from saka.euro.selectors.assets import (
    EuroPublicSettings,
    MemberEuroAssets,
    PledgeTotals,
    ProjectPledgeTotals,
    euro_public_settings,
    member_assets_eur,
)
from saka.euro.selectors.campaigns import (
    CampaignSummary,
    campaign_for_settlement,
    campaign_get,
    campaign_list,
    campaign_summary,
    campaign_totals,
    projects_with_campaign,
    settlement_get,
    settlement_progress,
    settlement_stalled_ids,
    settlement_summary,
)
from saka.euro.selectors.wallets import (
    PocketSummary,
    WalletSummary,
    account_balance,
    platform_balance,
    pledge_list,
    pocket_get,
    pocket_list,
    project_account_balance,
    wallet_history,
    wallet_summary,
)

__all__ = [
    "CampaignSummary",
    "EuroPublicSettings",
    "MemberEuroAssets",
    "PledgeTotals",
    "PocketSummary",
    "ProjectPledgeTotals",
    "WalletSummary",
    "account_balance",
    "campaign_for_settlement",
    "campaign_get",
    "campaign_list",
    "campaign_summary",
    "campaign_totals",
    "euro_public_settings",
    "member_assets_eur",
    "platform_balance",
    "pledge_list",
    "pocket_get",
    "pocket_list",
    "project_account_balance",
    "projects_with_campaign",
    "settlement_get",
    "settlement_progress",
    "settlement_stalled_ids",
    "settlement_summary",
    "wallet_history",
    "wallet_summary",
]
