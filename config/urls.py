from django.contrib import admin
from django.urls import include, path

from assay.api.urls import api
from assay.backoffice import health
from assay.integrations.shopify.webhooks import shopify_webhook
from assay.portal.views import simulated_checkout_page

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("hooks/shopify/<slug:brand>/", shopify_webhook, name="shopify-webhook"),
    path("app/", include("assay.backoffice.urls")),
    path("returns/<slug:brand>/", include("assay.portal.urls")),
    # The demo's payment provider: payment pages for exchange differences and card holds.
    path("pay/simulated/<str:session_id>/", simulated_checkout_page, name="simulated-checkout"),
]
