from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "assay.integrations.imports"
    label = "imports"
    verbose_name = "Order imports"
