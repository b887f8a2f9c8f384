"""API conventions (api.md): auth, roles, problem details, pagination, idempotency, health."""

import pytest
from django.urls import path
from rest_framework import serializers
from rest_framework.response import Response

from revops.core.api.views import ApiView
from revops.core.audit.actions import AuditAction
from revops.core.audit.models import AuditEvent
from revops.core.audit.services import audit_record
from revops.core.models import IdempotencyKey, Job
from revops.core.services.jobs import job_create
from tests.builders import EXTERNAL_ASSET

pytestmark = pytest.mark.django_db


class _JobIn(serializers.Serializer):
    kind = serializers.CharField(max_length=20)
    lines = serializers.ListField(
        child=serializers.DictField(child=serializers.DecimalField(max_digits=10, decimal_places=2)),
        required=False,
    )


class _CreateJobView(ApiView):
    """A minimal write endpoint built on the real base class, to exercise the conventions."""

    area = "jobs"

    def post(self, request):
        data = _JobIn(data=request.data)
        data.is_valid(raise_exception=True)
        job = job_create(kind=data.validated_data["kind"], started_by=request.user)
        audit_record(actor=request.user, action=AuditAction.COMPLIANCE_RUN, obj=job)
        return Response({"id": job.pk, "kind": job.kind}, status=201)


urlpatterns = [path("api/v1/test-jobs", _CreateJobView.as_view())]


def test_missing_token_is_401_problem(client):
    response = client.get("/api/v1/audit-events")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 401 and body["type"] == "/problems/unauthenticated" and body["detail"]


def test_wrong_token_is_401(client):
    response = client.get("/api/v1/audit-events", HTTP_AUTHORIZATION="Bearer cnc_not-a-real-token")
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid or revoked token."


def test_token_keyword_also_accepted(api_for):
    api = api_for("auditor")
    raw = api._credentials["HTTP_AUTHORIZATION"].split()[1]
    api.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    assert api.get("/api/v1/audit-events").status_code == 200


@pytest.mark.urls(__name__)
def test_wrong_role_is_403_problem(api_for):
    response = api_for("auditor").post("/api/v1/test-jobs", {"kind": "x"}, format="json")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["title"] == "Forbidden"


def test_unknown_path_is_404_problem(api_for):
    response = api_for("finance").get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 404


def test_unknown_path_outside_v1_is_404_problem(client):
    response = client.get("/api/v9/whatever")
    assert response.status_code == 404
    assert response.json()["type"] == "/problems/not-found"


def test_wrong_method_is_405_problem(api_for):
    response = api_for("finance").delete("/api/v1/audit-events/verify")
    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.urls(__name__)
def test_validation_error_lists_field_paths(api_for):
    response = api_for("finance").post(
        "/api/v1/test-jobs", {"kind": "", "lines": [{"a": "1.00"}, {"ssp": "abc"}]}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    fields = {e["field"] for e in body["errors"]}
    assert "kind" in fields and "lines[1].ssp" in fields
    assert Job.objects.count() == 0


@pytest.mark.urls(__name__)
def test_malformed_json_is_400_problem_not_500(api_for):
    response = api_for("finance").generic(
        "POST", "/api/v1/test-jobs", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.urls(__name__)
def test_idempotency_same_key_runs_once(api_for):
    api = api_for("finance")
    first = api.post("/api/v1/test-jobs", {"kind": "once"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = api.post("/api/v1/test-jobs", {"kind": "once"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Job.objects.filter(kind="once").count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.COMPLIANCE_RUN, object_type="core.job").count() == 1


@pytest.mark.urls(__name__)
def test_idempotency_same_key_other_body_is_422(api_for):
    api = api_for("finance")
    api.post("/api/v1/test-jobs", {"kind": "a"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    response = api.post("/api/v1/test-jobs", {"kind": "b"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/idempotency-key-reused"
    assert Job.objects.filter(kind="b").count() == 0


@pytest.mark.urls(__name__)
def test_idempotency_failed_request_is_not_remembered(api_for):
    api = api_for("finance")
    bad = api.post("/api/v1/test-jobs", {"kind": ""}, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert bad.status_code == 400
    assert not IdempotencyKey.objects.filter(key="k-3").exists()


@pytest.mark.urls(__name__)
def test_idempotency_keys_are_per_client(api_for):
    one, two = api_for("finance"), api_for("finance")
    one.post("/api/v1/test-jobs", {"kind": "same"}, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    two.post("/api/v1/test-jobs", {"kind": "same"}, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert Job.objects.filter(kind="same").count() == 2


def test_cursor_pagination_shape_and_page_size(api_for):
    api = api_for("auditor")
    # api_for itself wrote one audit event; add more.
    from django.db import transaction

    with transaction.atomic():
        for i in range(4):
            audit_record(actor="test", action=AuditAction.COMPLIANCE_RUN, object_type="x.y", object_id=i)
    page = api.get("/api/v1/audit-events?page_size=2").json()
    assert set(page) == {"results", "next", "previous"}
    assert len(page["results"]) == 2 and page["previous"] is None and page["next"]
    second = api.get(page["next"]).json()
    assert second["results"][0]["seq"] == page["results"][1]["seq"] - 1


def test_page_size_is_capped_at_1000(api_for):
    response = api_for("auditor").get("/api/v1/audit-events?page_size=5000")
    assert response.status_code == 200


def test_healthz_reports_database_and_queue(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "queue": "eager"}


def test_openapi_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"openapi" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert not EXTERNAL_ASSET.search(docs.content)  # self-hosted assets only
