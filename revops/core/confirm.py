"""A confirmation step before an action that cannot be undone (issue 16 §2).

The first POST of such a form does nothing: the view checks the input, then renders ``core/confirm.html``
stating the consequence, with every posted field carried along as a hidden input and ``confirm=1``
added. Only that second POST runs the service. A plain server-side page: it works without JavaScript
and needs no ``confirm()`` dialog; "Cancel" goes back without changing anything."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

CONFIRM_FIELD = "confirm"
NOT_CARRIED = frozenset({"csrfmiddlewaretoken", CONFIRM_FIELD})


def is_confirmed(request: HttpRequest) -> bool:
    """True when the POST comes from the confirmation page (its ``confirm=1``)."""
    return request.POST.get(CONFIRM_FIELD) == "1"


@dataclass
class Confirmation:
    """What the confirmation page says: a question as its heading, the consequence in plain words,
    the facts the person checks (label, value) and the button that carries it out."""

    title: str
    consequence: str
    button: str
    back: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    lines: list[tuple[str, str]] = field(default_factory=list)
    lines_title: str = ""
    danger: bool = False
    subject: str = ""
    # Fields the page adds to what was posted: the state the person saw (e.g. what the invoice had been
    # paid), so the confirmed POST acts only if it is still so — a replayed or doubled confirmation finds
    # it changed and does nothing.
    seen: list[tuple[str, str]] = field(default_factory=list)


def confirm_page(request: HttpRequest, confirmation: Confirmation) -> HttpResponse:
    """The confirmation page, posting back to the same URL with what was posted plus ``confirm=1``."""
    seen = {name for name, _value in confirmation.seen}
    carried = [
        (name, value)
        for name in request.POST
        if name not in NOT_CARRIED and name not in seen
        for value in request.POST.getlist(name)
    ] + list(confirmation.seen)
    context = {"c": confirmation, "carried": carried, "action": request.path}
    return render(request, "core/confirm.html", context)
