from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from billing.catalog import setup as catalog_setup
        from billing.usage import setup as usage_setup

        catalog_setup.ready()
        usage_setup.ready()
