from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Compliance"

    def ready(self) -> None:
        from compliance.widgets import audit_widgets
        from revops.core.dashboard import register_widgets

        register_widgets("audit", audit_widgets)
