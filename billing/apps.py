from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from billing import checks  # noqa: F401 - registers the system checks
        from billing.catalog import setup as catalog_setup
        from billing.invoicing import setup as invoicing_setup
        from billing.usage import setup as usage_setup
        from billing.webhooks import setup as webhooks_setup

        catalog_setup.ready()
        usage_setup.ready()
        invoicing_setup.ready()
        webhooks_setup.ready()

        from billing import approvals

        approvals.ready()

        from billing.webhooks.services import webhooks_dispatch_on_commit
        from revops.core.outbox import register_inline_consumer

        # Webhooks leave as soon as the change commits (the beat task catches anything missed).
        register_inline_consumer(
            consumer="webhooks-trigger",
            topics=("invoice.finalized", "invoice.paid", "invoice.voided", "billing_run.completed"),
            handle=lambda event: webhooks_dispatch_on_commit(),
        )
