"""Write notifications and mark them read; the email goes out after commit through a Celery task
(``core.send_notification_email``) and only when an email backend is configured."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from revops.core.enqueue import enqueue_on_commit
from revops.core.ids import parse_ids
from revops.core.notifications.models import Notification

EMAIL_TASK = "core.send_notification_email"


def notification_create(*, user, kind: str, title: str, body: str = "", url: str = "", approval=None):
    """A notification for ``user`` (inside the caller's transaction); its email is queued on commit."""
    if getattr(user, "pk", None) is None:
        return None
    note = Notification.objects.create(
        user=user, kind=kind, title=title[:300], body=body, url=url[:500], approval=approval
    )
    if settings.NOTIFICATION_EMAIL and user.email:
        enqueue_on_commit(EMAIL_TASK, note.pk)
    return note


def notification_mark_read(*, user, ids=None) -> int:
    """Mark the user's unread notifications read (only ``ids`` when given); returns how many."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=parse_ids(ids))
    return unread.update(read_at=timezone.now())


def notification_unread_count(user) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


@transaction.atomic
def notification_email_send(*, notification_id: int) -> bool:
    """Send one notification's email once (safe to run twice: ``emailed_at`` is claimed under a lock)."""
    note = (
        Notification.objects.select_for_update()
        .select_related("user")
        .filter(pk=notification_id, emailed_at__isnull=True)
        .first()
    )
    if note is None or not note.user.email:
        return False
    link = f"{settings.NOTIFICATION_BASE_URL.rstrip('/')}{note.url}" if note.url else ""
    send_mail(
        subject=f"[Concord] {note.title}",
        message="\n\n".join(part for part in (note.body, link) if part),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[note.user.email],
    )
    note.emailed_at = timezone.now()
    note.save(update_fields=["emailed_at"])
    return True
