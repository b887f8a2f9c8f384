"""Invoice documents are background delivery work (issue 15): their render tasks go to the documents
queue, which a worker consumes only when its default queue is empty, so a month end's 10,000 renders
never hold up finalization, revenue runs or the compliance run."""

from __future__ import annotations

from datetime import date

import pytest
from django.conf import settings
from django.db.models import Min
from django.utils import timezone

from billing.documents import services
from billing.documents.services import RENDER_TASK, invoice_documents_queue
from billing.models import Invoice
from revops.celery import app, route_task
from revops.core.audit.actions import AuditAction
from revops.core.audit.models import AuditEvent
from revops.core.models import Job
from revops.core.services.jobs import job_create
from tests.billing.factories import ContractFactory, InvoiceFactory
from tests.workers import real_workers, wait_for


def test_the_render_task_is_routed_to_the_documents_queue_and_nothing_else_is():
    assert settings.CELERY_TASK_ROUTES == ("revops.celery.route_task",)
    default = app.conf.task_default_queue
    assert route_task(RENDER_TASK, [[1]], {}, {}) == {"queue": f"{default}.documents"}
    for other in ("billing.work_finalization_run", "revrec.work_revenue_run", "compliance.run_checks"):
        assert route_task(other, [], {}, {}) is None
    assert app.amqp.router.route({}, RENDER_TASK, args=[[1]])["queue"].name == f"{default}.documents"
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["queue_order_strategy"] == "priority"


@pytest.mark.services
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("catalog")
def test_a_worker_takes_default_queue_work_before_documents_queued_earlier(monkeypatch):
    invoices = [
        InvoiceFactory(finalized=True, contract=ContractFactory(start_date=date(2026, 1, 1)))
        for _ in range(4)
    ]
    ids = [invoice.pk for invoice in invoices]
    Invoice.objects.filter(pk__in=ids).update(pdf_path="", pdf_sha256="")
    monkeypatch.setattr(services, "RENDER_CHUNK", 1)  # four document tasks
    job = job_create(kind="probe")
    queued_at = timezone.now()  # the factory stored documents (and audited it) already: count after this
    with real_workers(count=1, concurrency=1, start=False) as workers:
        invoice_documents_queue(ids)  # queued first …
        app.send_task("core.probe", args=[job.pk])  # … then one task on the default queue
        workers.start(1, 1)
        wait_for(
            lambda: not Invoice.objects.filter(pk__in=ids, pdf_sha256="").exists(),
            timeout=120,
            message=f"the worker to render the documents\n{workers.output()}",
        )
        assert ".documents" in workers.output()
    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED
    first_document = AuditEvent.objects.filter(
        action=AuditAction.INVOICE_DOCUMENT_STORED,
        object_id__in=[str(i) for i in ids],
        occurred_at__gt=queued_at,
    ).aggregate(first=Min("occurred_at"))["first"]
    assert AuditEvent.objects.filter(
        action=AuditAction.INVOICE_DOCUMENT_STORED, occurred_at__gt=queued_at
    ).count() == len(ids)  # rendered by the worker, one task each
    assert job.finished_at <= first_document
