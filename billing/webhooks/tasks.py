"""Webhook tasks: thin, named, safe to run twice (each calls one service)."""

from celery import shared_task

__all__ = ["deliver_webhook", "dispatch_webhooks", "retry_due_webhooks"]


@shared_task(name="billing.deliver_webhook")
def deliver_webhook(delivery_id: int) -> str:
    """One signed POST of a delivery; records the outcome and schedules the next attempt."""
    from billing.webhooks.delivery import webhook_deliver

    return webhook_deliver(delivery_id=delivery_id)


@shared_task(name="billing.dispatch_webhooks")
def dispatch_webhooks() -> int:
    """Outbox consumer (on commit of webhook events, coalesced while one is queued; every 30 s by beat)."""
    from billing.webhooks.dispatch import webhooks_dispatch_outbox
    from revops.core.enqueue import coalesced_task_started

    coalesced_task_started("billing.dispatch_webhooks")

    return webhooks_dispatch_outbox().deliveries


@shared_task(name="billing.retry_due_webhooks")
def retry_due_webhooks() -> int:
    """Beat, every minute: re-enqueue deliveries whose next attempt is due."""
    from billing.webhooks.delivery import webhooks_retry_due

    return webhooks_retry_due()
