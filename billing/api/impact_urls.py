from django.urls import re_path

from billing.api.impact import VersionImpactView

urlpatterns = [
    re_path(
        r"^plans/(?P<code>[-a-zA-Z0-9_]+)/versions/(?P<number>[0-9]+)/impact/?$",
        VersionImpactView.as_view(),
        name="api-plan-version-impact",
    ),
]
