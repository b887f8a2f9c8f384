"""The keyed audit chain (issue 12 §8): someone with database write access but without the key cannot
rewrite the trail and recompute it; the actor is hashed; signed checkpoints detect even a rewrite made
with the key; legacy (unkeyed) events still verify, sealed by a keyed event."""

import importlib
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader

from revops.core.audit.actions import AuditAction
from revops.core.audit.chain import GENESIS, SCHEME_LEGACY, chain_key, event_hash, head_mac, keyed_event_hash
from revops.core.audit.models import AuditChainHead, AuditCheckpoint, AuditEvent
from revops.core.audit.services import audit_checkpoint_create, audit_record, audit_record_many
from revops.core.audit.verify import audit_verify_chain
from revops.errors import AppendOnlyError
from tests.closing import close_period

pytestmark = pytest.mark.django_db


def _record(n: int = 4, actor="tester") -> list[AuditEvent]:
    with transaction.atomic():
        return [
            audit_record(
                actor=actor,
                action=AuditAction.INVOICE_FINALIZED,
                object_type="billing.invoice",
                object_id=i,
                changes={"total": "127.50", "n": i},
            )
            for i in range(n)
        ]


def _rechain(start_seq: int, *, edit=None, keyed: bool, scheme=None) -> None:
    """What an attacker with database write access does: edit one row, recompute every hash from it
    to the end (with the plain SHA-256 formula, or with the key if they hold it) and move the head."""
    rows = list(AuditEvent.objects.order_by("seq"))
    prev = GENESIS
    for row in rows:
        if row.seq >= start_seq:
            fields = {}
            if edit and row.seq == start_seq:
                fields = edit(row)
                for name, value in fields.items():
                    setattr(row, name, value)
            common = dict(
                seq=row.seq,
                occurred_at=row.occurred_at,
                actor_label=row.actor_label,
                action=row.action,
                object_type=row.object_type,
                object_id=row.object_id,
                changes=row.changes,
                prev_hash=prev,
            )
            if keyed:
                digest = keyed_event_hash(actor_id=row.actor_id, **common)
            else:
                digest = event_hash(**common)
            extra = {"scheme": scheme} if scheme is not None else {}
            AuditEvent.objects.filter(pk=row.pk).update(prev_hash=prev, hash=digest, **fields, **extra)
            row.hash = digest
        prev = row.hash
    last = rows[-1]
    head = {"last_seq": last.seq, "last_hash": prev}
    if keyed:
        head["mac"] = head_mac(last.seq, prev)
    AuditChainHead.objects.filter(id=1).update(**head)


def test_editing_a_row_and_recomputing_the_plain_chain_to_the_end_is_detected():
    """Attack (a): edit a row, recompute SHA-256 to the end, update the head — the old verifier said
    valid; without the key the keyed hashes cannot be recomputed."""
    events = _record(5)
    victim = events[1]
    _rechain(victim.seq, edit=lambda row: {"changes": {"total": "0.01", "n": 1}}, keyed=False)
    result = audit_verify_chain()
    assert not result.valid and result.first_bad == victim.pk
    with pytest.raises(CommandError, match=f"id={victim.pk}"):
        call_command("verify_audit_chain")
    # Even marking the rewritten rows as the legacy unkeyed scheme does not pass (a downgrade).
    _rechain(victim.seq, edit=lambda row: {"changes": {"total": "0.01", "n": 1}}, keyed=False, scheme=1)
    result = audit_verify_chain()
    assert not result.valid and result.first_bad == victim.pk and "unkeyed event after keyed" in result.reason


def test_a_downgrade_of_the_whole_chain_to_unkeyed_hashes_is_detected():
    _record(3)
    _rechain(1, edit=lambda row: {"action": "forged"}, keyed=False, scheme=SCHEME_LEGACY)
    result = audit_verify_chain()
    assert not result.valid and "no keyed event sealing them" in result.reason


def test_changing_only_the_actor_foreign_key_is_detected(make_user):
    """Attack (b): the actor FK was not hashed at all; now its id is, with the username."""
    alice, mallory = make_user("alice", "finance"), make_user("mallory", "finance")
    events = _record(3, actor=alice)
    assert audit_verify_chain().valid
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE compliance_auditevent SET actor_id = %s WHERE id = %s", [mallory.pk, events[1].pk]
        )
    result = audit_verify_chain()
    assert not result.valid and result.first_bad == events[1].pk


def test_a_rewrite_with_the_key_is_detected_against_an_earlier_exported_checkpoint(tmp_path, capsys):
    """Attack (c): an insider who holds the key rewrites a row, re-MACs to the end, moves the head and
    deletes the stored checkpoints. The chain verifies on its own — but not against the checkpoint
    exported earlier with `audit_anchor`."""
    events = _record(4)
    exported = tmp_path / "checkpoint.json"
    call_command("audit_anchor", output=str(exported))
    document = json.loads(exported.read_text())
    assert document["seq"] == events[-1].seq and document["head_hash"] == events[-1].hash
    assert json.loads(capsys.readouterr().out)["signature"] == document["signature"]
    _record(2)  # the chain grows after the checkpoint

    _rechain(events[1].seq, edit=lambda row: {"changes": {"total": "0.01", "n": 1}}, keyed=True)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM compliance_auditcheckpoint")
    assert audit_verify_chain().valid  # with the key and the stored checkpoints gone, it passes alone
    result = audit_verify_chain(checkpoints=[document])
    assert not result.valid and "rewritten since the given checkpoint" in result.reason
    with pytest.raises(CommandError, match="rewritten since"):
        call_command("verify_audit_chain", checkpoint=[str(exported)])


def test_stored_checkpoints_are_checked_too_and_are_append_only():
    _record(3)
    checkpoint = audit_checkpoint_create(source="test")
    assert audit_verify_chain().checkpoints == 1
    with pytest.raises(AppendOnlyError):
        checkpoint.save()
    _rechain(2, edit=lambda row: {"action": "forged"}, keyed=True)
    result = audit_verify_chain()
    assert not result.valid and "stored checkpoint" in result.reason
    AuditCheckpoint.objects.filter(pk=checkpoint.pk).update(head_hash=AuditEvent.objects.get(seq=3).hash)
    assert "bad signature" in audit_verify_chain().reason


def test_a_forged_or_truncating_checkpoint_is_refused(tmp_path):
    events = _record(3)
    document = json.loads(json.dumps(_export()))
    forged = {**document, "head_hash": "f" * 64}
    result = audit_verify_chain(checkpoints=[forged])
    assert not result.valid and "bad signature" in result.reason
    # The events a genuine checkpoint names were removed (and the head moved back, with the key).
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM compliance_auditevent WHERE id = %s", [events[-1].pk])
        assert "events were removed" in audit_verify_chain().reason  # the stored checkpoint saw it
        cursor.execute("DELETE FROM compliance_auditcheckpoint")
    AuditChainHead.objects.filter(id=1).update(
        last_seq=events[-2].seq, last_hash=events[-2].hash, mac=head_mac(events[-2].seq, events[-2].hash)
    )
    assert audit_verify_chain().valid
    result = audit_verify_chain(checkpoints=[document])
    assert not result.valid and "events were removed" in result.reason


def _export() -> dict:
    from revops.core.audit.services import checkpoint_document

    return checkpoint_document(audit_checkpoint_create(source="test"))


def test_truncating_the_tail_and_moving_the_head_without_the_key_is_detected():
    events = _record(3)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM compliance_auditevent WHERE id = %s", [events[-1].pk])
    AuditChainHead.objects.filter(id=1).update(last_seq=events[-2].seq, last_hash=events[-2].hash)
    result = audit_verify_chain()
    assert not result.valid and "MAC" in result.reason


def test_another_key_does_not_verify(settings):
    _record(2)
    settings.AUDIT_CHAIN_KEY = "some-other-key-0123456789abcdef0123456789"
    assert not audit_verify_chain().valid


def test_legacy_unkeyed_events_are_sealed_by_the_migration_and_still_verify():
    """Events written before the chain was keyed keep their SHA-256 (scheme 1); the migration appends
    one keyed event over them. A later rewrite of a legacy row breaks that keyed link."""
    _record(4)
    # The trail as it was before the migration: unkeyed hashes, scheme 1, no head MAC.
    _rechain(1, keyed=False, scheme=SCHEME_LEGACY)
    AuditChainHead.objects.filter(id=1).update(mac="")
    assert not audit_verify_chain().valid  # an unsealed unkeyed chain is not trusted
    migration = importlib.import_module("compliance.migrations.0006_keyed_audit_chain")
    # The models as that migration saw them (in the compliance app, before they moved to the kernel).
    state = MigrationLoader(connection).project_state(("compliance", "0006_keyed_audit_chain"))
    migration.seal_legacy_events(state.apps, None)
    result = audit_verify_chain()
    assert result.valid and result.legacy == 4 and result.checked == 5
    seal = AuditEvent.objects.get(seq=5)
    assert seal.action == "audit.chain_keyed" and seal.changes["legacy_through_seq"] == 4
    after = _record(1)[0]
    assert after.scheme == 2 and audit_verify_chain().valid

    rows = list(AuditEvent.objects.filter(seq__lte=4).order_by("seq"))  # rewrite a legacy row, plain
    prev = GENESIS
    for row in rows:
        changes = {"total": "0.01"} if row.seq == 2 else row.changes
        digest = event_hash(
            seq=row.seq,
            occurred_at=row.occurred_at,
            actor_label=row.actor_label,
            action=row.action,
            object_type=row.object_type,
            object_id=row.object_id,
            changes=changes,
            prev_hash=prev,
        )
        AuditEvent.objects.filter(pk=row.pk).update(changes=changes, prev_hash=prev, hash=digest)
        prev = digest
    result = audit_verify_chain()
    assert not result.valid and result.first_bad_seq == 5 and "link" in result.reason


def test_batching_still_writes_one_insert_and_a_valid_chain(django_assert_max_num_queries):
    """(d) audit_record_many (billing runs) stays one head lock, one bulk INSERT and one head update
    (SQLite splits the INSERT at its 999-variable limit: about 80 rows a statement)."""
    _record(1)
    records = [
        {
            "actor": "run",
            "action": AuditAction.INVOICE_DRAFTED,
            "object_type": "billing.invoice",
            "object_id": i,
        }
        for i in range(2000)
    ]
    with transaction.atomic(), django_assert_max_num_queries(2000 // 80 + 6):
        events = audit_record_many(records)
    assert len(events) == 2000 and events[-1].seq == 2001
    assert all(e.scheme == 2 for e in events[:5])
    result = audit_verify_chain()
    assert result.valid and result.checked == 2001


def test_the_key_is_required_and_derived_from_the_secret_key_in_production(settings, monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from revops.settings.base import derived_key

    settings.AUDIT_CHAIN_KEY = ""
    with pytest.raises(ImproperlyConfigured):
        chain_key()
    assert derived_key("s" * 50, "concord audit chain v1") != derived_key("s" * 50, "another purpose")
    assert len(derived_key("s" * 50, "concord audit chain v1")) == 64


def test_period_close_anchors_and_the_evidence_pack_carries_signed_checkpoints(book, api_for, tmp_path):
    import io
    import zipfile

    finance = book["finance"]
    assert close_period(finance, "2026-01").status_code == 202
    anchored = AuditCheckpoint.objects.get(source="period_close:2026-01")
    closed = AuditEvent.objects.filter(action="period.closed").latest("seq")
    assert anchored.seq >= closed.seq and anchored.head_hash == AuditEvent.objects.get(seq=anchored.seq).hash

    response = api_for("auditor").get("/api/v1/evidence?period=2026-02")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    pack = json.loads(archive.read("audit_checkpoints.json"))
    sources = [c["source"] for c in pack["checkpoints"]]
    assert "period_close:2026-01" in sources and sources[-1] == "evidence_pack:2026-02"
    manifest = json.loads(archive.read("manifest.json"))
    assert "audit_checkpoints.json" in manifest["files"]
    saved = tmp_path / "audit_checkpoints.json"
    saved.write_bytes(archive.read("audit_checkpoints.json"))
    call_command("verify_audit_chain", checkpoint=[str(saved)])

    # Later, an insider with the key rewrites January's close and cleans the stored checkpoints up:
    # the checkpoints kept with the evidence pack still expose it.
    _rechain(closed.seq, edit=lambda row: {"changes": {"period": "2026-01", "note": "x"}}, keyed=True)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM compliance_auditcheckpoint")
    assert audit_verify_chain().valid
    with pytest.raises(CommandError, match="rewritten since"):
        call_command("verify_audit_chain", checkpoint=[str(saved)])


def test_production_requires_a_real_chain_key_or_derives_it_from_the_secret_key():
    """Production: AUDIT_CHAIN_KEY from the environment, else derived from SECRET_KEY (HKDF); never the
    development default or a short key."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from revops.settings.base import derived_key

    root = Path(__file__).resolve().parents[2]
    base = {k: v for k, v in os.environ.items() if k not in ("AUDIT_CHAIN_KEY", "DJANGO_SETTINGS_MODULE")}
    secret = "s" * 64
    code = "from django.conf import settings; print(settings.AUDIT_CHAIN_KEY)"

    def run(**env):
        return subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=root,
            env={**base, "DJANGO_SETTINGS_MODULE": "revops.settings.production", "SECRET_KEY": secret, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )

    derived = run()
    assert derived.returncode == 0, derived.stderr
    assert derived.stdout.strip().splitlines()[-1] == derived_key(secret, "concord audit chain v1")
    given = run(AUDIT_CHAIN_KEY="k" * 40)
    assert given.stdout.strip().splitlines()[-1] == "k" * 40
    for weak in ("dev-only-audit-chain-key-change-me-0123456789abcdef", "short"):
        refused = run(AUDIT_CHAIN_KEY=weak)
        assert refused.returncode != 0 and "AUDIT_CHAIN_KEY must be a secret" in refused.stderr
