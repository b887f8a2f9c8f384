"""The evidence pack of a period: one zip an auditor can check with standard tools.

Files (CSV unless noted, one registered builder each in ``compliance.evidence.files``): policy.json
(settings and the penny policy in force), penny_policy.md, ssp_versions, allocations, schedules,
journal_entries, rollforward (with control totals), approvals, audit_trail, audit_checkpoints.json
(signed head checkpoints of the audit chain), exceptions, and MANIFEST.sha256
(``sha256sum -c MANIFEST.sha256`` verifies every file) plus manifest.json (row counts, sums, hashes).
``compliance.evidence.registry`` holds the registry and assembles the zip, streaming each file into
it from the database (``evidence_pack_write``): no file is ever held whole in memory."""

from compliance.evidence import files  # noqa: F401 - registers the builders, in the pack's order
from compliance.evidence.registry import (
    BUILDERS,
    EvidenceFile,
    Pack,
    build_evidence_pack,
    evidence_file,
    evidence_pack_manifest,
    evidence_pack_write,
)
from compliance.evidence.rollforward import rollforward

__all__ = [
    "BUILDERS",
    "EvidenceFile",
    "Pack",
    "build_evidence_pack",
    "evidence_file",
    "evidence_pack_manifest",
    "evidence_pack_write",
    "rollforward",
]
