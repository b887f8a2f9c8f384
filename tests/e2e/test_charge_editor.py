"""The charge editor in a real browser: changing the pricing model or the meter fetches the
model-dependent price fields from the server; while that request is on its way those fields are locked
(a disabled fieldset), so nothing typed in the meantime is swapped away, and what was typed before the
change comes back in the new fields."""

from __future__ import annotations

import pytest

from tests.e2e.test_journeys import expect, new_draft_plan, replaced

pytestmark = pytest.mark.e2e

# Records, for each request of the editor's model/meter selects, whether the price fields were locked
# when it left (htmx:beforeSend fires after hx-disabled-elt has disabled them) and what it posted.
WATCH = """() => {
  window.__sent = [];
  document.body.addEventListener("htmx:beforeSend", (e) => {
    const fields = document.getElementById("model-fields");
    const body = e.detail.requestConfig.formData;
    window.__sent.push({
      path: e.detail.requestConfig.path,
      locked: fields !== null && fields.disabled,
      unit: body ? body.get("p-unit_amount") : null,
    });
  });
}"""


def test_price_fields_are_locked_while_a_model_change_fetches_them(login, shot):
    page = login("pricing")
    new_draft_plan(page, "e2e-editor", "E2E editor")
    page.get_by_role("link", name="Add the first charge").click()

    page.fill("#id_code", "tokens")
    page.select_option("#id_product", "tokens")
    page.fill("#id_p-unit_amount", "0.0000025")
    page.evaluate(WATCH)
    with replaced(page, "#model-section"):
        page.select_option("#id_meter", "llm_tokens")
    sent = page.evaluate("window.__sent.filter(r => r.path.includes('properties'))")
    assert sent and all(r["locked"] for r in sent), sent  # locked while the request was out
    assert sent[0]["unit"] == "0.0000025"  # what was typed went with it
    expect(page.locator("#id_p-unit_amount")).to_have_value("0.0000025")  # and came back
    expect(page.locator("#id_p-unit_amount")).to_be_enabled()  # the new fields are open again
    shot("charge-editor-after-meter-change")

    with replaced(page, "#model-section"):
        page.select_option("#id_model", "graduated")
    sent = page.evaluate("window.__sent.filter(r => r.path.includes('properties'))")
    assert len(sent) == 2 and sent[1]["locked"], sent
    expect(page.locator("#model-fields")).to_be_enabled()
    expect(page.locator("#model-section")).to_contain_text("tier")
