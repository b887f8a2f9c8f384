"""Charge validation: every rule, with the exact field path a client sees (api.md Conventions:
``errors: [{"field": "lines[1].ssp", "message": ...}]``), and all errors reported at once."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from billing.rating import RatingError, Tier, parse_charge, validate_charge

OPEN = {"up_to": None, "unit_amount": 1}


def fields(model, properties, **kwargs):
    return [error.field for error in validate_charge(model, properties, **kwargs)]


def test_a_valid_charge_has_no_errors():
    assert validate_charge("standard", {"unit_amount": "0.000002"}) == []


@pytest.mark.parametrize("model", ["tiered", "", None, 3])
def test_unknown_model(model):
    assert fields(model, {}) == ["model"]


@pytest.mark.parametrize("properties", [None, [], "amount=1"])
def test_properties_must_be_an_object(properties):
    assert fields("flat", properties) == ["properties"]


@pytest.mark.parametrize(
    ("model", "missing"),
    [
        ("flat", ["properties.amount"]),
        ("standard", ["properties.unit_amount"]),
        ("package", ["properties.package_size", "properties.amount"]),
        ("percentage", ["properties.rate"]),
        ("graduated", ["properties.tiers"]),
        ("volume", ["properties.tiers"]),
        ("graduated_percentage", ["properties.tiers"]),
    ],
)
def test_required_properties(model, missing):
    assert fields(model, {}) == missing


def test_null_counts_as_missing_for_required_and_as_default_for_optional():
    assert fields("flat", {"amount": None}) == ["properties.amount"]
    spec = parse_charge("package", {"package_size": 10, "amount": 1, "free_units": None})
    assert spec.properties["free_units"] == D(0)


@pytest.mark.parametrize(
    ("model", "properties", "typo"),
    [
        ("standard", {"unit_amount": 1, "unit_amout": 2}, "properties.unit_amout"),
        ("dynamic", {"amount": 1}, "properties.amount"),
        (
            "graduated",
            {"tiers": [{"up_to": None, "unit_amount": 1, "flat_fee": 2}]},
            "properties.tiers[0].flat_fee",
        ),
        (
            "graduated_percentage",
            {"tiers": [{"up_to": None, "rate": 1, "unit_amount": 2}]},
            "properties.tiers[0].unit_amount",
        ),
    ],
)
def test_unknown_property_keys_are_errors(model, properties, typo):
    assert fields(model, properties) == [typo]


@pytest.mark.parametrize(
    ("tiers", "expected"),
    [
        ([], ["properties.tiers"]),
        ({"up_to": None}, ["properties.tiers"]),
        ("tiers", ["properties.tiers"]),
        ([5, OPEN], ["properties.tiers[0]"]),
        ([{"unit_amount": 1}], ["properties.tiers[0].up_to"]),
        ([{"up_to": 10}, OPEN], ["properties.tiers[0].unit_amount"]),
        (
            [{"up_to": 10, "unit_amount": 1}, {"up_to": 10, "unit_amount": 1}, OPEN],
            ["properties.tiers[1].up_to"],
        ),
        (
            [{"up_to": 10, "unit_amount": 1}, {"up_to": 5, "unit_amount": 1}, OPEN],
            ["properties.tiers[1].up_to"],
        ),
        ([OPEN, {"up_to": 10, "unit_amount": 1}], ["properties.tiers[0].up_to", "properties.tiers[1].up_to"]),
        ([{"up_to": 10, "unit_amount": 1}], ["properties.tiers[0].up_to"]),
        ([OPEN, OPEN], ["properties.tiers[0].up_to"]),
        ([{"up_to": 0, "unit_amount": 1}, OPEN], ["properties.tiers[0].up_to"]),
        ([{"up_to": -5, "unit_amount": 1}, OPEN], ["properties.tiers[0].up_to"]),
        ([{"up_to": 5, "unit_amount": "-0.01"}, OPEN], ["properties.tiers[0].unit_amount"]),
        ([{"up_to": 5, "unit_amount": 1, "flat_amount": -1}, OPEN], ["properties.tiers[0].flat_amount"]),
    ],
)
@pytest.mark.parametrize("model", ["graduated", "volume"])
def test_tier_rules(model, tiers, expected):
    assert fields(model, {"tiers": tiers}) == expected


def test_tier_error_messages_explain_the_rule():
    errors = validate_charge(
        "graduated", {"tiers": [OPEN, {"up_to": 3, "unit_amount": 1}, {"up_to": 2, "unit_amount": 1}]}
    )
    assert [(e.field, e.message) for e in errors] == [
        ("properties.tiers[0].up_to", "only the last tier can be open-ended (null)"),
        ("properties.tiers[2].up_to", "the last tier must be open-ended (null)"),
        ("properties.tiers[2].up_to", "must be greater than the previous tier's up_to (3)"),
    ]


@pytest.mark.parametrize(
    ("tier", "expected"),
    [
        ({"up_to": None}, ["properties.tiers[0].rate"]),
        ({"up_to": None, "rate": "100.01"}, ["properties.tiers[0].rate"]),
        ({"up_to": None, "rate": -1}, ["properties.tiers[0].rate"]),
        ({"up_to": None, "rate": 0}, []),
        ({"up_to": None, "rate": 100, "flat_amount": "-1"}, ["properties.tiers[0].flat_amount"]),
    ],
)
def test_graduated_percentage_tier_rates(tier, expected):
    assert fields("graduated_percentage", {"tiers": [tier]}) == expected


@pytest.mark.parametrize(
    ("model", "properties", "expected"),
    [
        ("flat", {"amount": "-1"}, ["properties.amount"]),
        ("standard", {"unit_amount": "-0.000001"}, ["properties.unit_amount"]),
        ("package", {"package_size": 0, "amount": 1}, ["properties.package_size"]),
        ("package", {"package_size": "-2", "amount": 1}, ["properties.package_size"]),
        ("package", {"package_size": "0.5", "amount": 1}, []),
        ("package", {"package_size": 10, "amount": -1}, ["properties.amount"]),
        ("package", {"package_size": 10, "amount": 1, "free_units": -1}, ["properties.free_units"]),
        ("percentage", {"rate": "100.5"}, ["properties.rate"]),
        ("percentage", {"rate": -1}, ["properties.rate"]),
        ("percentage", {"rate": 100}, []),
        ("percentage", {"rate": 1, "fixed_amount": "-0.1"}, ["properties.fixed_amount"]),
        ("percentage", {"rate": 1, "free_units_per_events": -1}, ["properties.free_units_per_events"]),
        ("percentage", {"rate": 1, "free_units_per_events": "2.5"}, ["properties.free_units_per_events"]),
        (
            "percentage",
            {"rate": 1, "free_units_per_total_aggregation": -1},
            ["properties.free_units_per_total_aggregation"],
        ),
        (
            "percentage",
            {"rate": 1, "per_transaction_min_amount": -1},
            ["properties.per_transaction_min_amount"],
        ),
        (
            "percentage",
            {"rate": 1, "per_transaction_max_amount": -1},
            ["properties.per_transaction_max_amount"],
        ),
        (
            "percentage",
            {"rate": 1, "per_transaction_min_amount": 5, "per_transaction_max_amount": 1},
            ["properties.per_transaction_min_amount"],
        ),
        ("percentage", {"rate": 1, "per_transaction_min_amount": 5, "per_transaction_max_amount": 5}, []),
    ],
)
def test_amount_rules(model, properties, expected):
    assert fields(model, properties) == expected


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("0.000002", True),
        (3, True),
        (D("1.5"), True),
        (0.5, True),
        (0.1, False),
        (True, False),
        ("1,5", False),
        ("NaN", False),
        ("Infinity", False),
        ([1], False),
    ],
)
def test_number_formats(value, ok):
    # accounting.md §1: strings or integers; a float only if exactly representable.
    assert fields("standard", {"unit_amount": value}) == ([] if ok else ["properties.unit_amount"])


def test_inexact_float_message():
    (error,) = validate_charge("standard", {"unit_amount": 0.1})
    assert error.message == "0.1 is not exactly representable; send it as a string."


def test_all_errors_are_reported_at_once_with_the_callers_prefix():
    properties = {
        "rate": 150,
        "fixed_amount": "x",
        "per_transaction_min_amount": 2,
        "per_transaction_max_amount": 1,
        "free_unit": 3,
    }
    with pytest.raises(RatingError) as exc:
        parse_charge("percentage", properties, prefix="charges[0]")
    assert sorted(e.field for e in exc.value.errors) == [
        "charges[0].properties.fixed_amount",
        "charges[0].properties.free_unit",
        "charges[0].properties.per_transaction_min_amount",
        "charges[0].properties.rate",
    ]
    assert [e.as_dict()["field"] for e in exc.value.errors] == [e.field for e in exc.value.errors]


@pytest.mark.parametrize("prefix", ["charges[0]", "charges[0]."])
def test_prefix_with_or_without_a_trailing_dot(prefix):
    assert fields("percentage", {"rate": -1}, prefix=prefix) == ["charges[0].properties.rate"]
    assert fields("bogus", {}, prefix=prefix) == ["charges[0].model"]


@pytest.mark.parametrize("field", ["", "  ", 5])
def test_event_field_must_be_a_property_name(field):
    assert fields("dynamic", {}, field=field) == ["field"]


def test_parse_converts_numbers_and_fills_defaults():
    spec = parse_charge("percentage", {"rate": "1.2"}, field="amount")
    assert dict(spec.properties) == {
        "rate": D("1.2"),
        "fixed_amount": D(0),
        "free_units_per_events": D(0),
        "free_units_per_total_aggregation": D(0),
        "per_transaction_min_amount": None,
        "per_transaction_max_amount": None,
    }
    assert spec.field == "amount"
    tiers = parse_charge(
        "volume",
        {"tiers": [{"up_to": 5, "unit_amount": "7"}, {"up_to": None, "unit_amount": 6, "flat_amount": 1}]},
    )
    assert tiers.properties["tiers"] == (Tier(D(5), D(7)), Tier(None, D(6), D(1)))


def test_parsed_properties_are_read_only_and_parsing_is_idempotent():
    spec = parse_charge(
        "graduated_percentage", {"tiers": [{"up_to": 10, "rate": 1}, {"up_to": None, "rate": "0.5"}]}
    )
    with pytest.raises(TypeError):
        spec.properties["tiers"] = ()  # type: ignore[index]
    assert parse_charge(spec.model, spec.properties) == spec
