"""A pending period-close request as its approver finds it: approving runs the close checklist again,
so the queue says beforehand what would refuse it — above all a stale check run (the books changed
after the checks ran, e3263ea), which the approver can bring up to date from the request itself
("Run the checks"); the other failing items are finance's work and link to where they are fixed."""

from __future__ import annotations

from compliance.services.close import CLOSE, ChecksStatus, change_text, checks_status, close_checklist


def _when(moment) -> str:
    return f"{moment.day} {moment:%b %Y %H:%M} UTC"


def stale_text(status: ChecksStatus) -> str:
    """Why the latest check run no longer describes the books, in words (no internal references)."""
    run = status.run
    if run is None:
        return "No check run has completed yet."
    finished = f"Check run #{run.pk} finished {_when(run.finished_at)}"
    if status.missing:
        return f"{finished} but ran only some of the checks ({len(status.missing)} not run)."
    if run.audit_seq is None:
        return f"{finished}, before changes to the books were tracked against check runs."
    latest = status.latest_change
    if latest is None:
        return f"{finished}."
    count = status.changes
    return (
        f"{finished}; since it started, {count:,} change{'s' if count != 1 else ''} to financial records "
        f"{'were' if count != 1 else 'was'} recorded. The latest: {change_text(latest)}."
    )


def close_readiness(approvals) -> dict[int, dict]:
    """{approval pk: {"key", "stale", "stale_text", "others"}} for the pending period-close requests
    among ``approvals`` that approving now would refuse (nothing for one whose checklist is green).
    ``others``: the failing checklist items besides the check run's freshness, each with the page
    that fixes it. One checklist per such request (a queue holds at most one per open period)."""
    from compliance.views.close import checklist_fix_url
    from revrec.models import AccountingPeriod

    closes = [a for a in approvals if a.kind == CLOSE and str(a.object_id).isdigit()]
    if not closes:
        return {}
    periods = dict(
        AccountingPeriod.objects.filter(pk__in=[int(a.object_id) for a in closes]).values_list("pk", "period")
    )
    status = None
    out = {}
    for approval in closes:
        key = periods.get(int(approval.object_id))
        if key is None:
            continue
        failing = [item for item in close_checklist(key) if not item.ok]
        if not failing:
            continue
        stale = any(item.code == "checks_current" for item in failing)
        if stale and status is None:
            status = checks_status()
        out[approval.pk] = {
            "key": key,
            "stale": stale,
            "stale_text": stale_text(status) if stale else "",
            "others": [
                {"item": item, "url": checklist_fix_url(item.code, key)}
                for item in failing
                if item.code != "checks_current"
            ],
        }
    return out
