from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "assay.demo"
    label = "demo"
    verbose_name = "Demo data"
