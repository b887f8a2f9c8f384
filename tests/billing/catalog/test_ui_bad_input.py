"""Issue 12 §9 through the UI: JSON typed into the pricing simulator nested 100,000 deep or holding a
lone surrogate, and a window over 1000–9000, get form errors — never a 500."""

from __future__ import annotations

import pytest

from billing.catalog.demo import seed_catalog

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "sim-results"}


@pytest.fixture
def demo(db):
    seed_catalog()


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested deeper than 64"),
        ('{"a":' * 100_000 + "1" + "}" * 100_000, "nested deeper than 64"),
        (
            '{"code": "llm_tokens", "timestamp": "2026-11-02T10:00:00+00:00", "properties": {"model": "\\ud800"}}',
            "lone surrogate",
        ),
    ],
)
def test_simulator_events_that_cannot_be_used_are_a_form_error(ui_for, demo, events, message):
    data = {"version": "ai-tokens:1", "start": "2026-11-01", "end": "2026-12-01", "events": events}
    response = ui_for("pricing").post("/pricing/simulator/", data, **HX)
    assert response.status_code < 500
    assert message in response.content.decode()


def test_a_simulator_window_over_1000_to_9000_is_a_form_error(ui_for, demo):
    data = {
        "version": "team-seats:1",
        "start": "1000-01-01",
        "end": "9000-01-01",
        "events": "",
        "q-seats": "1",
    }
    response = ui_for("pricing").post("/pricing/simulator/", data)
    assert response.status_code == 400
    assert "1900-01-01 and 2199-12-31" in response.content.decode()
