from revops.navigation import nav_for
from revops.roles import ROLE_LABELS, can_decide, roles_of


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from revops.core.approvals.selectors import approvals_waiting_count
    from revops.core.notifications.services import notification_unread_count

    roles = sorted(roles_of(user))
    return {
        "nav_sections": nav_for(user),
        "user_roles": roles,
        "user_role_labels": [ROLE_LABELS[r] for r in roles],
        "current_url_name": getattr(getattr(request, "resolver_match", None), "url_name", None),
        # The sidebar's count beside "Approvals": requests this approver may decide (never their own).
        "approvals_waiting": approvals_waiting_count(user) if can_decide(user) else 0,
        "notifications_unread": notification_unread_count(user),
    }
