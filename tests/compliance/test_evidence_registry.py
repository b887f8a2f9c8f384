"""The evidence pack is assembled from its registry: one builder per file, in the pack's order, each
listed in both manifests with the hash of exactly the bytes in the zip."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest

from compliance.evidence import BUILDERS, EvidenceFile, build_evidence_pack, evidence_file

PACK_ORDER = [
    "policy.json",
    "penny_policy.md",
    "ssp_versions.csv",
    "allocations.csv",
    "schedules.csv",
    "journal_entries.csv",
    "rollforward.csv",
    "approvals.csv",
    "audit_trail.csv",
    "audit_checkpoints.json",
    "exceptions.csv",
]


def test_every_file_of_the_pack_has_one_builder_in_the_pack_order():
    assert list(BUILDERS) == PACK_ORDER


def test_a_second_builder_for_a_registered_name_is_refused():
    with pytest.raises(ValueError, match="already has a builder"):
        evidence_file("journal_entries.csv")(lambda pack: EvidenceFile(b""))
    assert list(BUILDERS) == PACK_ORDER


@pytest.mark.django_db
def test_the_zip_holds_the_registered_files_then_the_manifests(monkeypatch):
    # Given an extra builder registered for this test (and one that leaves its file out)
    monkeypatch.setattr("compliance.evidence.registry.BUILDERS", dict(BUILDERS))
    from compliance.evidence import registry

    evidence_file("note.txt")(lambda pack: EvidenceFile(f"period {pack.period}\n".encode(), {"lines": 1}))
    evidence_file("absent.csv")(lambda pack: None)

    # When the pack of an empty period is built
    data, manifest = build_evidence_pack(period="2026-01")

    # Then the zip lists every built file in registry order, then the two manifests
    archive = zipfile.ZipFile(io.BytesIO(data))
    built = [name for name in registry.BUILDERS if name != "absent.csv"]
    assert archive.namelist() == [*built, "manifest.json", "MANIFEST.sha256"]
    assert list(manifest["files"]) == built
    assert archive.read("note.txt") == b"period 2026-01\n"
    assert manifest["files"]["note.txt"]["controls"] == {"lines": 1}
    assert manifest["files"]["journal_entries.csv"]["rows"] == 0
    assert json.loads(archive.read("manifest.json"))["files"] == json.loads(json.dumps(manifest["files"]))
    sums = archive.read("MANIFEST.sha256").decode().splitlines()
    assert sums == [f"{hashlib.sha256(archive.read(name)).hexdigest()}  {name}" for name in built]
