"""The parties every app builds on: customers, legal entities and products (app label ``contracts``,
tables ``contracts_*``, as since the first migration).

The contract models themselves (Contract, ContractLine, ContractVersion) are defined in
``billing.contracts.models`` and keep the ``contracts`` app label, so their tables, migrations and
the object types the audit trail, approvals, exceptions and the outbox record
(``contracts.contract``) stay what they were."""

from .catalog import Product, RecognitionMethod
from .customers import Customer, LegalEntity

__all__ = [
    "Customer",
    "LegalEntity",
    "Product",
    "RecognitionMethod",
]
