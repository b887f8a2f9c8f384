from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Compliance"

    def ready(self) -> None:
        from compliance import triggers
        from compliance.services import close, exceptions
        from compliance.widgets import audit_widgets
        from revops.core.dashboard import register_widgets
        from revops.core.outbox import register_inline_consumer

        register_widgets("audit", audit_widgets)
        exceptions.register()
        close.register()
        register_inline_consumer(consumer="compliance", topics=triggers.TOPICS, handle=triggers.handle)
        from compliance import registrations

        registrations.register()
