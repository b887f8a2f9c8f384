"""Guard rails shown with a contract (issue 16 §7): a line whose plan has no price version in force
when the line starts is warned about (those periods cannot be priced), and a plan with metered charges
is labelled usage-billed (billed in arrears from the usage events)."""

from __future__ import annotations

from datetime import date

from django.db.models import Min

from billing.models import Charge, PlanVersion
from revops.formatting import day


def plans_in_force_from(plan_ids) -> dict[int, date]:
    """Each plan's first published price version's effective date (a plan never published: absent)."""
    rows = (
        PlanVersion.objects.filter(plan_id__in=set(plan_ids), status=PlanVersion.Status.PUBLISHED)
        .values("plan_id")
        .annotate(first=Min("effective_from"))
    )
    return {row["plan_id"]: row["first"] for row in rows}


def usage_billed_plans(plan_ids) -> set[int]:
    """The plans whose published versions have a metered charge (a charge on a meter)."""
    return set(
        Charge.objects.filter(
            version__plan_id__in=set(plan_ids),
            version__status=PlanVersion.Status.PUBLISHED,
            meter__isnull=False,
        ).values_list("version__plan_id", flat=True)
    )


def plan_warnings(lines) -> list[str]:
    """A sentence for each line (with a plan) that starts before its plan has a price in force.
    ``lines`` carry ``range_start`` (the line's first day of service)."""
    planned = [line for line in lines if line.plan_id]
    in_force = plans_in_force_from(line.plan_id for line in planned)
    out = []
    for line in planned:
        first = in_force.get(line.plan_id)
        if first is None:
            out.append(
                f"Line {line.key}: plan {line.plan.code} has no published price version yet, so nothing "
                "on it can be priced or billed. Publish a version first."
            )
        elif line.range_start < first:
            out.append(
                f"Line {line.key} starts on {day(line.range_start)}, before plan {line.plan.code} is in "
                f"force (its first price version takes effect on {day(first)}): the periods before "
                "then cannot be priced and the billing run reports them as failures."
            )
    return out
