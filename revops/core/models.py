"""Shared kernel records: long-running jobs, API tokens, idempotency keys."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models


class TimeStamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        abstract = True


class Job(TimeStamped):
    """A long job (billing run, revenue run, import...) that reports progress to a DB row the UI polls."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=64, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress_done__lte=models.F("progress_total"))
                | models.Q(progress_total=0),
                name="job_progress_within_total",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.COMPLETED, self.Status.FAILED)

    @property
    def percent(self) -> int:
        if self.status == self.Status.COMPLETED:
            return 100
        if not self.progress_total:
            return 0
        return min(100, int(self.progress_done * 100 / self.progress_total))


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class TokenReassignment(Exception):
    """A token belongs to the person it was minted for, for good."""


class ApiToken(TimeStamped):
    """A bearer token. Only its SHA-256 is stored; the token itself is shown once, at creation.

    A token is never moved to another user (its requests would act as that person — a way round
    maker-checker): ``save`` refuses a changed user, and the admin shows the user read-only."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True, default="")
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            stored = ApiToken.objects.filter(pk=self.pk).values_list("user_id", "key_hash").first()
            if stored is not None and stored != (self.user_id, self.key_hash):
                raise TokenReassignment("An API token cannot be moved to another user or re-keyed.")
        super().save(*args, **kwargs)

    @staticmethod
    def generate() -> str:
        return "cnc_" + secrets.token_urlsafe(32)


class RoleGrant(TimeStamped):
    """Who gave a user a role, and when it was taken away. Written for every change of a user's role
    groups, however made (admin, command, code), next to the audit event."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="role_grants")
    role = models.CharField(max_length=40)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    granted_by_label = models.CharField(max_length=150)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by_label = models.CharField(max_length=150, blank=True, default="")

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.user} ← {self.role} (by {self.granted_by_label})"


class UserOrigin(models.Model):
    """Who created an account and who last set its password (when not its owner): an account made,
    or taken over, by a person never checks that person's requests."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="origin")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by_label = models.CharField(max_length=150, blank=True, default="")
    password_set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.user} (created by {self.created_by_label or 'unknown'})"


class SodException(TimeStamped):
    """An explicit, audited exception to segregation of duties: USER may hold a preparing role and
    the approver role, and decide requests of KIND (``*``: every kind) — never their own."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sod_exceptions"
    )
    kind = models.CharField(max_length=40, default="*", help_text="Approval kind, or * for every kind.")
    reason = models.TextField()
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    granted_by_label = models.CharField(max_length=150)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "SoD exception"

    def __str__(self) -> str:
        return f"SoD exception: {self.user} for {self.kind}"

    @classmethod
    def covering(cls, user, *, kind: str = "*"):
        qs = cls.objects.filter(user=user, revoked_at__isnull=True)
        return qs if kind == "*" else qs.filter(kind__in=("*", kind))


class IdempotencyKey(TimeStamped):
    """The stored first response of a POST sent with an ``Idempotency-Key`` header.

    Written in the same transaction as the effect: if the effect rolls back, so does the key."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=512)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    response_headers = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_key_unique_per_owner")
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"


class OutboxEvent(TimeStamped):
    """The one hook by which billing announces what happened (invoice finalized, voided, paid, credit
    note issued, usage rated). Written in the same transaction as the change; consumers (revenue
    recognition, webhooks) write a receipt per event, so each event is processed once per consumer."""

    topic = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.topic} {self.object_type}:{self.object_id}"


class OutboxReceipt(models.Model):
    """A consumer has processed an outbox event. Unique per (consumer, event), written in the
    consumer's own transaction: events that commit out of id order are never skipped, and none is
    processed twice."""

    consumer = models.CharField(max_length=64)
    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="receipts")
    processed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["consumer", "event"], name="outbox_receipt_once")]

    def __str__(self) -> str:
        return f"{self.consumer} ✓ {self.event_id}"


# The kernel's audit trail and approvals engine keep their records in their own packages; importing
# them here registers them with the "core" app.
from revops.core.approvals.models import Approval  # noqa: E402, F401
from revops.core.audit.models import AuditChainHead, AuditCheckpoint, AuditEvent  # noqa: E402, F401
from revops.core.notifications.models import Notification  # noqa: E402, F401
