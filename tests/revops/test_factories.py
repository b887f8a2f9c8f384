"""The kernel factories make records the way the services do: audited, by code, with roles."""

import pytest

from revops.core.audit.models import AuditEvent
from tests.revops.factories import CustomerFactory, ProductFactory, UserFactory, approver

pytestmark = pytest.mark.django_db


def test_a_factory_customer_carries_its_created_audit_event():
    customer = CustomerFactory(name="Acme", currency="eur")
    assert customer.currency == "EUR"  # the service's normalisation, not a raw row
    assert AuditEvent.objects.filter(action="customer.created", object_id=str(customer.pk)).exists()


def test_a_product_by_code_is_made_once_and_audited():
    first = ProductFactory(code="seats", recognition="ratable_monthly")
    assert ProductFactory(code="seats") == first
    assert AuditEvent.objects.filter(object_id=str(first.pk), action__startswith="product.").count() == 1


def test_build_is_refused_where_it_would_skip_the_service():
    with pytest.raises(TypeError, match="through the service"):
        CustomerFactory.build()


def test_users_get_their_role_group():
    assert approver().groups.filter(name="approver").exists()
    assert not UserFactory().groups.exists()
