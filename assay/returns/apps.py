from django.apps import AppConfig


class ReturnsConfig(AppConfig):
    name = "assay.returns"
    label = "returns"
    verbose_name = "Returns"
