"""Finalization runs (issue 15 §1): finalizing many drafts — bulk in the review queue, ``POST
/invoices/finalize``, auto-finalization after a grace period — as a job with progress.

:func:`finalization_start` records the run and returns at once; after commit a plan task creates one
item per draft (the ids asked for, or the drafts the invoice list's filters select, in billing-date
order) and sends ``FINALIZATION_PARALLELISM`` workers. Each worker loops "claim up to BATCH_SIZE
pending items with SELECT … FOR UPDATE SKIP LOCKED and finalize their drafts" in ONE transaction per
batch, so a killed worker leaves its batch's items pending (nothing of them committed) and any
worker — or the stalled-run resumer — finishes them; a re-delivered task finds nothing pending and
repeats nothing.

:mod:`.planning` starts, plans, fans out, finishes, reads and resumes a run; :mod:`.batch` is the
workers' loop and what one batch does."""

from billing.invoicing.finalization.batch import BATCH_SIZE, finalization_work
from billing.invoicing.finalization.planning import (
    FILTER_NAMES,
    MAX_IDS,
    PLAN_CHUNK,
    PLAN_TASK,
    WORK_TASK,
    approval_holds,
    contract_awaits_approval,
    finalization_counts,
    finalization_fan_out,
    finalization_finish,
    finalization_plan,
    finalization_plan_and_fan_out,
    finalization_preview,
    finalization_problems,
    finalization_resume,
    finalization_start,
)

__all__ = [
    "BATCH_SIZE",
    "FILTER_NAMES",
    "MAX_IDS",
    "PLAN_CHUNK",
    "PLAN_TASK",
    "WORK_TASK",
    "approval_holds",
    "contract_awaits_approval",
    "finalization_counts",
    "finalization_fan_out",
    "finalization_finish",
    "finalization_plan",
    "finalization_plan_and_fan_out",
    "finalization_preview",
    "finalization_problems",
    "finalization_resume",
    "finalization_start",
    "finalization_work",
]
