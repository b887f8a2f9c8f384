from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def import_models(self) -> None:
        """Billing's models, then the contract models: they live with the rest of the contract concept
        (billing/contracts/models, app label ``contracts``) and are registered here, while Django imports
        every app's models, so billing.models need not import the contracts package that builds on it."""
        super().import_models()
        from billing.contracts import models as contract_models  # noqa: F401

    def ready(self) -> None:
        from billing import checks  # noqa: F401 - registers the system checks
        from billing.catalog import registrations as catalog_registrations
        from billing.invoicing import registrations as invoicing_registrations
        from billing.usage import registrations as usage_registrations
        from billing.webhooks import registrations as webhooks_registrations

        catalog_registrations.register()
        usage_registrations.register()
        invoicing_registrations.register()
        webhooks_registrations.register()

        from billing import pricing_impact

        pricing_impact.register()

        from billing import search

        search.register()  # the global search's billing records (revops.core.search)

        from billing import approvals

        approvals.ready()

        from billing.invoicing import reversals

        reversals.ready()  # credit notes and voids of finalized invoices wait for a second person

        from billing.contracts.services import renewals

        renewals.register()  # the contract_renewal approval kind

        from billing.invoicing.demo_renewals import seed_renewals
        from revops.core.demo import register_seeder

        register_seeder("renewals", seed_renewals, after="billing")

        from billing.webhooks.dispatch import webhooks_dispatch_on_commit
        from billing.webhooks.endpoints import EVENT_TYPES
        from revops.core.outbox import register_inline_consumer

        # Webhooks leave as soon as the change commits (the beat task catches anything missed).
        register_inline_consumer(
            consumer="webhooks-trigger",
            topics=EVENT_TYPES,
            handle=lambda event: webhooks_dispatch_on_commit(),
            # A batch of events (outbox_publish_many) sends one dispatch, not one per event.
            handle_many=lambda events: webhooks_dispatch_on_commit(),
        )
