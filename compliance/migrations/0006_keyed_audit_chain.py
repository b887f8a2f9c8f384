"""Key the audit chain (issue 12 §8).

Honest choice for the events already written: they are NOT re-chained. Re-hashing them under the key
would rewrite every historical hash in place (the trail is append-only), would make every head hash an
auditor already holds from an earlier evidence pack unmatchable, and would bless whatever those rows
say now, tampered or not. Instead each row carries its scheme: existing rows stay scheme 1 (unkeyed
SHA-256, verified as before), and this migration seals them by appending one keyed event,
``audit.chain_keyed``, whose HMAC covers the last legacy hash — so a later rewrite of any legacy row
breaks a keyed link, and the verifier accepts unkeyed events only as the prefix sealed this way.
What stays weaker for legacy rows: their actor foreign key was never hashed (only the username)."""

import hashlib
import hmac
import json

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

LEGACY, KEYED = 1, 2


def _canonical(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _mac(key: bytes, label: str, payload: dict) -> str:
    return hmac.new(key, label.encode() + b"\n" + _canonical(payload), hashlib.sha256).hexdigest()


def seal_legacy_events(apps, schema_editor):
    """Frozen copies of the scheme-2 formulas (compliance.audit.keyed_event_hash and head_mac)."""
    event_model = apps.get_model("compliance", "AuditEvent")
    head_model = apps.get_model("compliance", "AuditChainHead")
    key = settings.AUDIT_CHAIN_KEY.encode()
    head, _ = head_model.objects.get_or_create(id=1)
    last = event_model.objects.order_by("-seq").first()
    if last is None:
        head.mac = _mac(key, "concord.audit-head.v1", {"seq": head.last_seq, "hash": head.last_hash})
        head.save(update_fields=["mac"])
        return
    seq, occurred_at = last.seq + 1, timezone.now()
    changes = {
        "legacy_scheme": LEGACY,
        "legacy_events": event_model.objects.count(),
        "legacy_through_seq": last.seq,
        "legacy_head": last.hash,
    }
    digest = _mac(
        key,
        "concord.audit-event.v2",
        {
            "scheme": KEYED,
            "seq": seq,
            "occurred_at": occurred_at.isoformat(),
            "actor_id": None,
            "actor": "system",
            "action": "audit.chain_keyed",
            "object_type": "compliance.auditchainhead",
            "object_id": "1",
            "changes": changes,
            "prev_hash": last.hash,
        },
    )
    event_model.objects.create(
        scheme=KEYED,
        seq=seq,
        occurred_at=occurred_at,
        actor=None,
        actor_label="system",
        action="audit.chain_keyed",
        object_type="compliance.auditchainhead",
        object_id="1",
        changes=changes,
        prev_hash=last.hash,
        hash=digest,
    )
    head.last_seq, head.last_hash = seq, digest
    head.mac = _mac(key, "concord.audit-head.v1", {"seq": seq, "hash": digest})
    head.save(update_fields=["last_seq", "last_hash", "mac"])


class Migration(migrations.Migration):
    dependencies = [("compliance", "0005_approval_content_binding")]

    operations = [
        migrations.CreateModel(
            name="AuditCheckpoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("seq", models.PositiveBigIntegerField()),
                ("head_hash", models.CharField(max_length=64)),
                ("created_at", models.DateTimeField()),
                ("source", models.CharField(max_length=100)),
                ("signature", models.CharField(max_length=64)),
            ],
            options={"ordering": ["-id"]},
        ),
        migrations.AddField(
            model_name="auditchainhead",
            name="mac",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        # Every existing event is scheme 1 (unkeyed); new ones default to scheme 2.
        migrations.AddField(
            model_name="auditevent",
            name="scheme",
            field=models.PositiveSmallIntegerField(default=LEGACY),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="scheme",
            field=models.PositiveSmallIntegerField(default=KEYED),
        ),
        migrations.RunPython(seal_legacy_events, migrations.RunPython.noop),
    ]
