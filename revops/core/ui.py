"""Helpers shared by the HTMX views of every app."""

from __future__ import annotations

from functools import wraps

from django.core.exceptions import PermissionDenied

from revops.roles import can_read, can_write


def require_area(area: str, *, write: bool = False):
    """Deny (403) a UI view to users whose roles may not read (or write, for POSTs or write=True) the area."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            needs_write = write or request.method not in ("GET", "HEAD", "OPTIONS")
            allowed = can_write(request.user, area) if needs_write else can_read(request.user, area)
            if not allowed:
                raise PermissionDenied("Your role does not allow this.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
