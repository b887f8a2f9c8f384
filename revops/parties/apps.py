from django.apps import AppConfig


class PartiesConfig(AppConfig):
    """Customers, legal entities and products. The label stays ``contracts`` (tables, migrations and
    recorded object types keep their names); the contract models in ``billing.contracts.models``
    declare the same label, so this app's migrations also hold their schema."""

    name = "revops.parties"
    label = "contracts"
    verbose_name = "Customers and contracts"

    def ready(self) -> None:
        from revops.parties.services import products

        products.register()
