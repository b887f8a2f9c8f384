from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Compliance"

    def ready(self) -> None:
        from compliance import triggers
        from compliance.approvals import register_approval_kind
        from compliance.services import close, exceptions
        from compliance.widgets import audit_widgets
        from revops.core.dashboard import register_widgets
        from revops.core.outbox import register_inline_consumer

        register_widgets("audit", audit_widgets)
        exceptions.register()
        close.register()
        register_approval_kind(
            "price_override", on_approved=_noop, label="Price override", content=_price_override_content
        )
        register_inline_consumer(consumer="compliance", topics=triggers.TOPICS, handle=triggers.handle)
        from compliance import setup

        setup.ready()


def _noop(approval, user) -> None:
    """Approving a price override only records the sign-off (the approval itself is the evidence)."""


def _price_override_content(approval) -> dict:
    """Bound into the request's hash: the contract line's price as it stands (what is signed off)."""
    from revops.contracts.models import ContractLine

    line = (
        ContractLine.objects.select_related("contract", "product", "plan")
        .filter(pk=approval.object_id)
        .first()
    )
    if line is None:
        return {"missing": True}
    return {
        "contract": line.contract.number,
        "line": line.key,
        "revision": line.revision,
        "product": line.product.code,
        "plan": line.plan.code if line.plan_id else None,
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "amount": line.amount,
    }
