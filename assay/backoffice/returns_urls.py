"""Back-office pages for returns, included under /app/ in the backoffice namespace."""

from django.urls import URLPattern, path

from assay.backoffice import returns_views as views

urlpatterns: list[URLPattern] = [
    path("", views.return_list, name="returns"),
    path("<str:rma>/", views.return_detail, name="return-detail"),
    path("<str:rma>/approve/", views.return_approve, name="return-approve"),
    path("<str:rma>/reject/", views.return_reject, name="return-reject"),
    path("<str:rma>/cancel/", views.return_cancel, name="return-cancel"),
    path("<str:rma>/override/", views.return_override, name="return-override"),
    path("<str:rma>/notes/", views.return_note_add, name="return-note-add"),
    path("<str:rma>/resolve/", views.return_resolve, name="return-resolve"),
    path("<str:rma>/payouts/<int:payout_id>/", views.payout_action, name="return-payout-action"),
    path("<str:rma>/exchanges/<int:exchange_id>/", views.exchange_action, name="return-exchange-action"),
    path("<str:rma>/shop-return/retry/", views.shop_return_retry, name="return-shop-return-retry"),
    path("<str:rma>/photos/<int:photo_id>/", views.return_photo, name="return-photo"),
]
