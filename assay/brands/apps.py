from django.apps import AppConfig


class BrandsConfig(AppConfig):
    name = "assay.brands"
    label = "brands"
    verbose_name = "Brands"
