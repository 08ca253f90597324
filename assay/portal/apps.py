from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "assay.portal"
    label = "portal"
    verbose_name = "Shopper portal"
