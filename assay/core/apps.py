from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "assay.core"
    label = "core"
    verbose_name = "Core"
