from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "assay.orders"
    label = "orders"
    verbose_name = "Orders"
