from django.apps import AppConfig


class StripeConfig(AppConfig):
    name = "assay.integrations.stripe"
    label = "stripe"
    verbose_name = "Stripe"

    def ready(self) -> None:
        from assay.integrations.stripe.checkout import StripeCheckout
        from assay.integrations.stripe.refunds import StripeRefunds
        from assay.resolutions.providers import register, register_checkout

        register(StripeRefunds())
        register_checkout(StripeCheckout())
