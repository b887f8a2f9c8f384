"""Registers webhooks with the kernel: the "Webhooks" page in the Billing section of the navigation."""

from revops.navigation import NavItem
from revops.navigation import register as register_nav


def register() -> None:
    register_nav("Billing", NavItem("Webhooks", "webhooks", "billing", "↗"))
