"""Dashboard widgets. Each app contributes a function that returns cards for a user; the dashboard
shows the ones the user's roles may read."""

from __future__ import annotations

from collections.abc import Callable

from revops.roles import can_read

WidgetFn = Callable[[object], list[dict]]
_PROVIDERS: list[tuple[str, WidgetFn]] = []


def register_widgets(area: str, provider: WidgetFn) -> None:
    if (area, provider) not in _PROVIDERS:
        _PROVIDERS.append((area, provider))


def dashboard_widgets(user) -> list[dict]:
    cards: list[dict] = []
    for area, provider in _PROVIDERS:
        if can_read(user, area):
            cards.extend(provider(user))
    return cards
