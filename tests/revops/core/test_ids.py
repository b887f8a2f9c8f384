"""Ids sent by a client: only ASCII digits naming a bigint primary key are ids (revops.core.ids).
``str.isdigit()`` accepted '²' and 5,000-digit strings, which ``int()`` then turned into 500s."""

from __future__ import annotations

import pytest

from revops.core.ids import parse_id, parse_ids

UNICODE_OR_HUGE = ["²", "٣", "9" * 5000]


@pytest.mark.parametrize(
    "value, expected",
    [
        ("1", 1),
        ("42", 42),
        (str(2**63 - 1), 2**63 - 1),
        (str(2**63), None),
        ("0", None),
        ("-1", None),
        ("+1", None),
        (" 1", None),
        ("1.0", None),
        ("", None),
        ("²", None),
        ("٣", None),  # Arabic-Indic three: isdigit() and int() both accept it
        ("9" * 5000, None),
        (7, 7),
        (0, None),
        (True, None),
        (None, None),
    ],
)
def test_parse_id(value, expected):
    assert parse_id(value) == expected


def test_parse_ids_keeps_only_ids_in_order():
    assert parse_ids(["3", "²", "1", "9" * 5000, "x"]) == [3, 1]


@pytest.mark.django_db
@pytest.mark.parametrize("value", UNICODE_OR_HUGE)
def test_marking_a_notification_read_with_a_unicode_or_huge_digit_id_is_not_a_500(ui_for, value):
    client = ui_for("finance")
    client.raise_request_exception = False
    assert client.post("/notifications/", {"id": value}).status_code < 500
