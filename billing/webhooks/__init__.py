"""Outgoing webhooks (issue 5 §6): outbox consumer, signed delivery with retries, API and UI.

- ``signing``: Standard Webhooks signatures (pure).
- ``services``: endpoint management (audited), the outbox consumer, delivery attempts, the retry sweeper.
- ``tasks``: thin Celery tasks ``billing.deliver_webhook``, ``billing.dispatch_webhooks``,
  ``billing.retry_due_webhooks``.
"""
