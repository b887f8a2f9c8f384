"""``/api/v1/`` — the public REST contract (api.md). Trailing slashes are optional everywhere."""

from django.urls import include, re_path

from revops.core.api.views import unknown_api_path

urlpatterns = [
    re_path(r"^", include("revops.core.audit.api")),
    re_path(r"^", include("revops.core.approvals.api")),
    re_path(r"^", include("billing.api.urls")),
    re_path(r"^", include("revrec.api.urls")),
    re_path(r"^", include("revrec.api.report_urls")),
    re_path(r"^", include("compliance.api.urls")),
    re_path(r"^(?P<path>.*)$", unknown_api_path),
]
