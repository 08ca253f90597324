from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "assay.backoffice"
    label = "backoffice"
    verbose_name = "Back office"
