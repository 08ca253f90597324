from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "assay.catalog"
    label = "catalog"
    verbose_name = "Catalogue"
