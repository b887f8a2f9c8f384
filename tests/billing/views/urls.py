"""The project's URLs plus the billing finance pages, for tests that run before (or after) the shared
url modules include them: the first match wins, so this works either way."""

from django.urls import include, path

from revops import urls as project

urlpatterns = [path("", include("billing.views.billing_urls")), *project.urlpatterns]
handler404 = project.handler404
handler500 = project.handler500
