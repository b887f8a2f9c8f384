from django.urls import path

from billing.views import usage as views

urlpatterns = [
    path("", views.explorer, name="usage-explorer"),
    path("quarantine/", views.quarantine, name="usage-quarantine"),
    path("quarantine/<int:pk>/replay/", views.quarantine_replay_view, name="usage-quarantine-replay"),
    path("quarantine/<int:pk>/discard/", views.quarantine_discard_view, name="usage-quarantine-discard"),
    path("quarantine/replay-open/", views.quarantine_replay_open_view, name="usage-quarantine-replay-open"),
    path("ingestion/", views.ingestion, name="usage-ingestion"),
]
