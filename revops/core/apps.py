from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "revops.core"
    label = "core"
    verbose_name = "Concord core"

    def ready(self) -> None:
        import revops.core.api.schema  # noqa: F401  (registers OpenAPI extensions)
        from revops.core import identity, security
        from revops.core.dashboard import register_widgets
        from revops.core.widgets import job_widgets

        post_migrate.connect(_sync_roles, dispatch_uid="core-sync-roles")
        identity.connect()
        security.connect()
        register_widgets("jobs", job_widgets)
        from revops.core.search import kernel as search_kernel

        search_kernel.register()  # approvals and audit trails in the global search


def _sync_roles(sender, **kwargs) -> None:
    from .services.roles import sync_role_groups

    sync_role_groups(using=kwargs.get("using", "default"))
