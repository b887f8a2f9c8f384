from revops.navigation import nav_for
from revops.roles import ROLE_LABELS, roles_of


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    roles = sorted(roles_of(user))
    return {
        "nav_sections": nav_for(user),
        "user_roles": roles,
        "user_role_labels": [ROLE_LABELS[r] for r in roles],
        "current_url_name": getattr(getattr(request, "resolver_match", None), "url_name", None),
    }
