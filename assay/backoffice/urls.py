from django.urls import include, path

from assay.backoffice import views

app_name = "backoffice"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("brand/", views.brand_switch, name="brand-switch"),
    path("orders/", views.order_list, name="orders"),
    path("orders/<int:order_id>/", views.order_view, name="order-detail"),
    path("webhooks/", views.webhook_events, name="webhook-events"),
    path("webhooks/<int:event_pk>/retry/", views.webhook_event_retry, name="webhook-event-retry"),
    path("returns/", include("assay.backoffice.returns_urls")),
    path("policies/", include("assay.backoffice.policies_urls")),
]
