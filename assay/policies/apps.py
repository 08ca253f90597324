from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "assay.policies"
    label = "policies"
    verbose_name = "Return policies"
