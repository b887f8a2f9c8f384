import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from revops.core.models import ApiToken, hash_token
from revops.roles import ROLES, can_decide, can_read, can_write

pytestmark = pytest.mark.django_db


def test_all_five_role_groups_exist_after_migrate():
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLES)


def test_auditor_reads_everything_and_writes_nothing(make_user):
    auditor = make_user("aud", "auditor")
    from revops.roles import AREAS

    assert all(can_read(auditor, area) for area in AREAS)
    assert not any(can_write(auditor, area) for area in AREAS)
    assert not can_decide(auditor)


def test_pricing_writes_catalog_but_not_billing(make_user):
    pricing = make_user("p", "pricing")
    assert can_write(pricing, "catalog") and not can_write(pricing, "billing")


def test_create_api_token_prints_token_alone_on_last_line(capsys):
    call_command("create_api_token", "pipeline", role="finance")
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("cnc_") and " " not in last
    token = ApiToken.objects.get(key_hash=hash_token(last))
    assert token.user.username == "pipeline"
    assert token.user.groups.filter(name="finance").exists()
    assert token.key_hash != last  # only the hash is stored


def test_create_api_token_rejects_unknown_role():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("create_api_token", "x", role="wizard")


def test_revoked_token_is_refused(api_for):
    from django.utils import timezone

    api = api_for("auditor")
    ApiToken.objects.filter(user=api.user).update(revoked_at=timezone.now())
    assert api.get("/api/v1/audit-events").status_code == 401
