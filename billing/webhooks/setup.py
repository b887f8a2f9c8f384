"""Wires webhooks into the app: the "Webhooks" page in the Billing section of the navigation."""

from revops.navigation import NavItem, register


def ready() -> None:
    register("Billing", NavItem("Webhooks", "webhooks", "billing", "↗"))
