from celery import shared_task


@shared_task(name="compliance.run_checks")
def run_checks(trigger: str = "nightly") -> int:
    from compliance.services.exceptions import compliance_run

    return compliance_run(trigger=trigger).pk
