"""The project's URLs plus the webhook API and page, for tests that run before (or after) the shared
url modules include them: the first match wins, so this works either way."""

from django.urls import include, path, re_path

from revops import urls as project

urlpatterns = [
    re_path(r"^api/v1/", include("billing.api.webhook_urls")),
    path("billing/webhooks/", include("billing.views.webhook_urls")),
    *project.urlpatterns,
]
handler404 = project.handler404
handler500 = project.handler500
