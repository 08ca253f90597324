from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "assay.webhooks"
    label = "webhooks"
    verbose_name = "Inbound webhooks"
