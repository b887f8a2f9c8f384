from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from revops.core import views as core_views
from revops.core.api.views import healthz, unknown_api_path

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page says; the icon is static/img/favicon.svg (no 404 per page).
    path("favicon.ico", core_views.favicon, name="favicon"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file, so no inline script is needed (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("revops.api_urls")),
    re_path(r"^api/(?P<path>.*)$", unknown_api_path),
    path("admin/", admin.site.urls),
    path("", include("revops.core.urls")),
    path("", include("billing.urls")),
    path("", include("revrec.urls")),
    path("", include("compliance.urls")),
]

handler404 = core_views.page_not_found
handler500 = core_views.server_error
