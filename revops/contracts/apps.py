from django.apps import AppConfig


class ContractsConfig(AppConfig):
    name = "revops.contracts"
    label = "contracts"
    verbose_name = "Customers and contracts"

    def ready(self) -> None:
        from revops.contracts.services import products

        products.register()
