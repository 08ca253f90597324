"""Shopper pages under /returns/<brand>/."""

from django.urls import URLPattern, path

from assay.portal import views

app_name = "portal"

urlpatterns: list[URLPattern] = [
    path("", views.lookup, name="lookup"),
    path("leave/", views.leave, name="leave"),
    path("order/", views.order_view, name="order"),
    path("order/return/", views.return_start, name="return-start"),
    path("r/<str:rma>/", views.status, name="status"),
    path("r/<str:rma>/confirmed/", views.confirmation, name="confirmation"),
    path("r/<str:rma>/cancel/", views.cancel, name="cancel"),
]
