from django.apps import AppConfig


class ResolutionsConfig(AppConfig):
    name = "assay.resolutions"
    label = "resolutions"
    verbose_name = "Resolutions"

    def ready(self) -> None:
        from assay.resolutions import simulated
        from assay.resolutions.providers import register, register_checkout

        # Built in: the demo's simulated provider and staff-recorded manual payouts.
        register(simulated.SimulatedProvider())
        register(simulated.ManualProvider())
        register_checkout(simulated.SimulatedCheckout())
