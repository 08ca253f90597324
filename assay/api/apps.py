from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "assay.api"
    label = "api"
    verbose_name = "API"
