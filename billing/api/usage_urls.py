from django.urls import re_path

from billing.api import usage as views

urlpatterns = [
    re_path(r"^events/?$", views.EventIngestView.as_view(), name="api-events"),
    re_path(r"^events/quarantine/?$", views.QuarantineListView.as_view(), name="api-quarantine"),
    re_path(
        r"^events/quarantine/replay/?$",
        views.QuarantineBulkReplayView.as_view(),
        name="api-quarantine-replay-all",
    ),
    re_path(
        r"^events/quarantine/(?P<pk>[0-9]+)/replay/?$",
        views.QuarantineReplayView.as_view(),
        name="api-quarantine-replay",
    ),
    re_path(
        r"^events/quarantine/(?P<pk>[0-9]+)/discard/?$",
        views.QuarantineDiscardView.as_view(),
        name="api-quarantine-discard",
    ),
    re_path(
        r"^customers/(?P<ref>[^/]+)/usage/?$", views.CustomerUsageView.as_view(), name="api-customer-usage"
    ),
]
