"""Role-based API permissions. Each view names its ``area`` (see revops.roles)."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from revops.roles import can_read, can_write


class RolePermission(BasePermission):
    message = "Your role does not allow this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        handler_name = request.method.lower()
        if handler_name not in view.http_method_names or not hasattr(view, handler_name):
            return True  # let dispatch answer 405 Method Not Allowed
        area = getattr(view, "area", None)
        if area is None:
            return False  # a view that names no area is closed, never open by accident
        if request.method in SAFE_METHODS:
            return can_read(user, area)
        write_area = getattr(view, "write_area", area)
        return can_write(user, write_area)
