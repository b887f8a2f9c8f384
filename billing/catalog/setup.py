"""Wires the catalog feature into the app: navigation, dashboard widgets, demo data."""


def ready() -> None:
    pass
