from django.apps import AppConfig


class RevrecConfig(AppConfig):
    name = "revrec"
    verbose_name = "Revenue recognition"

    def ready(self) -> None:
        from revops.core.outbox import register_inline_consumer
        from revrec import consumers
        from revrec.services import estimates, modifications, progress, schedules, ssp

        register_inline_consumer(
            consumer=consumers.CONSUMER,
            topics=consumers.TOPICS,
            handle=consumers.handle,
            handle_many=consumers.handle_many,
        )
        schedules.register()
        modifications.register()
        ssp.register()
        estimates.register()
        progress.register()
        from billing.contracts.extensions import register_contract_field
        from revrec.api.contracts import performance_obligations_field

        register_contract_field("performance_obligations", performance_obligations_field)
        from billing.contracts.extensions import register_contract_panel
        from revrec.views.ramp import ramp_panel

        register_contract_panel("ramp", ramp_panel)
        from revops.books import register_books
        from revrec.selectors import closed_through, product_has_postings
        from revrec.services.ledger import account_info
        from revrec.services.periods import lock_books_for_posting

        register_books(
            closed_through=closed_through,
            account=account_info,
            product_has_postings=product_has_postings,
            lock_for_posting=lock_books_for_posting,
        )
        from revrec import registrations

        registrations.register()
