"""EUR routes, included under ``api/v1/`` by ``saka.api.urls``."""

from django.urls import path

from saka.api.euro import views as v

urlpatterns = [
    path("me/euro/wallet/", v.EuroWalletView.as_view(), name="euro-wallet"),
    path("me/euro/history/", v.EuroHistoryView.as_view(), name="euro-history"),
    path("me/euro/pockets/", v.PocketListView.as_view(), name="euro-pockets"),
    path(
        "me/euro/pockets/<int:pocket_id>/", v.PocketDetailView.as_view(), name="euro-pocket-detail"
    ),
    path("me/euro/transfers/", v.TransferView.as_view(), name="euro-transfers"),
    path("me/euro/pledges/", v.PledgeListView.as_view(), name="euro-pledges"),
    path(
        "me/euro/pledges/<int:pledge_id>/cancel/",
        v.PledgeCancelView.as_view(),
        name="euro-pledge-cancel",
    ),
    path("euro/campaigns/", v.CampaignListView.as_view(), name="euro-campaigns"),
    path(
        "euro/campaigns/<int:campaign_id>/",
        v.CampaignDetailView.as_view(),
        name="euro-campaign-detail",
    ),
    path("webhooks/payments/", v.PaymentWebhookView.as_view(), name="webhooks-payments"),
    path("webhooks/helloasso/", v.HelloAssoWebhookView.as_view(), name="webhooks-helloasso"),
    path(
        "staff/euro/campaigns/",
        v.StaffCampaignCreateView.as_view(),
        name="staff-euro-campaigns",
    ),
    path(
        "staff/euro/campaigns/<int:campaign_id>/status/",
        v.StaffCampaignStatusView.as_view(),
        name="staff-euro-campaign-status",
    ),
    path(
        "staff/euro/campaigns/<int:campaign_id>/settlement/",
        v.StaffSettlementView.as_view(),
        name="staff-euro-settlement",
    ),
    path(
        "staff/euro/pledges/<int:pledge_id>/refund/",
        v.StaffPledgeRefundView.as_view(),
        name="staff-euro-pledge-refund",
    ),
]
