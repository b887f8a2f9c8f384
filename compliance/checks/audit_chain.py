"""The audit trail's hash chain is intact."""

from __future__ import annotations

from compliance.checks.registry import Finding, check


@check(
    "audit_chain_intact",
    title="The audit trail's hash chain is intact",
    invariant="Every audit event's hash matches its content and links to the previous one",
    severity="critical",
)
def audit_chain_intact() -> list[Finding]:
    from revops.core.audit.verify import audit_verify_chain

    result = audit_verify_chain()
    if result.valid:
        return []
    return [
        Finding(
            "compliance.auditevent",
            str(result.first_bad or result.first_bad_seq),
            f"Audit chain broken at #{result.first_bad_seq}: {result.reason}.",
        )
    ]
