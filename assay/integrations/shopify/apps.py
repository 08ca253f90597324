from django.apps import AppConfig


class ShopifyConfig(AppConfig):
    name = "assay.integrations.shopify"
    label = "shopify"
    verbose_name = "Shopify"

    def ready(self) -> None:
        from assay.integrations.shopify.payouts import ShopifyPayouts
        from assay.integrations.shopify.processing import process_event
        from assay.integrations.shopify.returns import ShopifyReturns
        from assay.resolutions.providers import register as register_provider
        from assay.resolutions.providers import register_shop_returns
        from assay.webhooks.registry import register

        register("shopify", process_event)
        register_provider(ShopifyPayouts())
        register_shop_returns(ShopifyReturns())
