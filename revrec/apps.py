from django.apps import AppConfig


class RevrecConfig(AppConfig):
    name = "revrec"
    verbose_name = "Revenue recognition"

    def ready(self) -> None:
        from revops.core.outbox import register_inline_consumer
        from revrec import consumers
        from revrec.services import estimates, modifications, progress, schedules, ssp

        register_inline_consumer(
            consumer=consumers.CONSUMER, topics=consumers.TOPICS, handle=consumers.handle
        )
        schedules.register()
        modifications.register()
        ssp.register()
        estimates.register()
        progress.register()
        from billing.contracts.extensions import register_contract_payload_extender
        from revrec.selectors import extend_contract_payload

        register_contract_payload_extender(extend_contract_payload)
        from revops.books import register_books
        from revrec.selectors import closed_through, product_has_postings
        from revrec.services.ledger import account_info

        register_books(
            closed_through=closed_through, account=account_info, product_has_postings=product_has_postings
        )
        from revrec import registrations

        registrations.register()
