import logging

from celery import shared_task

log = logging.getLogger(__name__)


@shared_task(name="compliance.verify_audit_chain")
def verify_audit_chain() -> dict:
    from compliance.audit import audit_verify_chain

    result = audit_verify_chain()
    if not result.valid:
        log.error(
            "Audit chain broken at event %s (#%s): %s", result.first_bad, result.first_bad_seq, result.reason
        )
    return result.as_dict()


@shared_task(name="compliance.run_checks")
def run_checks(trigger: str = "nightly") -> int:
    from compliance.services.exceptions import compliance_run

    return compliance_run(trigger=trigger).pk
