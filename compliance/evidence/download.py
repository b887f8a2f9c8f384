"""The evidence pack as a download: written in chunks to a temporary file, the download audited with
the manifest's hashes, then streamed back from the file (the UI's and the API's ``GET /evidence``)."""

from __future__ import annotations

import tempfile

from django.db import transaction
from django.http import FileResponse

from compliance.evidence.registry import evidence_pack_write
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record


def evidence_download_response(*, period: str, actor) -> FileResponse:
    handle = tempfile.TemporaryFile(prefix="concord-evidence-")  # noqa: SIM115 - the response closes it
    try:
        manifest = evidence_pack_write(period=period, out=handle)
        with transaction.atomic():
            audit_record(
                actor=actor,
                action=AuditAction.EVIDENCE_DOWNLOADED,
                object_type="evidence",
                object_id=period,
                changes={"files": {k: v["sha256"] for k, v in manifest["files"].items()}},
            )
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    return FileResponse(
        handle,
        content_type="application/zip",
        as_attachment=True,
        filename=f"concord-evidence-{period}.zip",
    )
