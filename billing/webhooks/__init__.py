"""Outgoing webhooks (issue 5 §6): outbox consumer, signed delivery with retries, API and UI.

- ``signing``: Standard Webhooks signatures (pure).
- ``endpoints``: endpoint management (audited) and the endpoint and delivery lists.
- ``dispatch``: the outbox consumer (events → deliveries).
- ``delivery``: signed attempts, retries on the Standard Webhooks schedule, the retry sweeper.
- ``tasks``: thin Celery tasks ``billing.deliver_webhook``, ``billing.dispatch_webhooks``,
  ``billing.retry_due_webhooks``.

How an event reaches a receiver:

1. A billing service writes an ``OutboxEvent`` (topic ``invoice.finalized``…) in the transaction that
   makes the change, and calls ``dispatch.webhooks_dispatch_on_commit``.
2. ``dispatch.webhooks_dispatch_outbox`` (task ``billing.dispatch_webhooks``, also run by beat) claims
   unprocessed events with ``SELECT … FOR UPDATE SKIP LOCKED``, creates one ``WebhookDelivery`` per
   subscribed active endpoint — unique (endpoint, event id) — and writes the consumer's
   ``OutboxReceipt`` in the same transaction; the deliveries are enqueued on commit.
3. ``delivery.webhook_deliver`` (task ``billing.deliver_webhook``) claims the delivery with a short lease,
   POSTs the signed body outside any transaction, then records the outcome. A failure schedules the
   next attempt on the Standard Webhooks retry schedule; the beat sweeper
   (``delivery.webhooks_retry_due``, task ``billing.retry_due_webhooks``) re-enqueues whatever is due, so a
   lost countdown or a killed worker delays a delivery but never loses it.

Delivery is at-least-once (a worker killed after the receiver answered but before the outcome was
saved sends again); receivers deduplicate on ``webhook-id``, which is stable per event. Secrets are
never logged nor written to the audit trail.
"""
