"""Standard Webhooks signatures (pure: no database)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.webhooks.signing import WebhookVerificationError, headers, sign, verify

# The published test vector of the Standard Webhooks reference library:
# github.com/standard-webhooks/standard-webhooks, libraries/python/tests/test_webhooks.py,
# test_sign_function (the same vector is used by the library's other language ports).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

NOW = 1_800_000_000


def test_sign_matches_the_published_test_vector():
    assert sign(SPEC_SECRET, SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_sign_matches_an_independent_hmac():
    key = base64.b64decode(SPEC_SECRET.removeprefix("whsec_"))
    body = b'{"type":"invoice.paid","data":{"total":"127.50"}}'
    digest = hmac.new(key, b"evt_42.1800000000." + body, hashlib.sha256).digest()
    assert sign(SPEC_SECRET, "evt_42", 1800000000, body) == "v1," + base64.b64encode(digest).decode()


def test_headers_carry_id_timestamp_signature_and_content_type():
    sent = headers(SPEC_SECRET, SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_BODY)
    assert sent == {
        "webhook-id": SPEC_MSG_ID,
        "webhook-timestamp": "1614265330",
        "webhook-signature": SPEC_SIGNATURE,
        "content-type": "application/json",
    }


def test_verify_accepts_the_vector_and_header_names_in_any_case():
    sent = headers(SPEC_SECRET, SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_BODY)
    verify(SPEC_SECRET, sent, SPEC_BODY, now=SPEC_TIMESTAMP)
    verify(SPEC_SECRET, {k.title(): v for k, v in sent.items()}, SPEC_BODY, now=SPEC_TIMESTAMP + 300)
    verify(SPEC_SECRET.removeprefix("whsec_"), sent, SPEC_BODY, now=SPEC_TIMESTAMP)  # prefix optional


def test_verify_accepts_any_one_matching_signature_of_several():
    sent = headers(SPEC_SECRET, "evt_1", NOW, b"{}")
    sent["webhook-signature"] = " ".join(
        ["v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=", "v1a,bm90LWEtc2ln", sent["webhook-signature"]]
    )
    verify(SPEC_SECRET, sent, b"{}", now=NOW)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda h, b: (h, b + b" "), id="body"),
        pytest.param(lambda h, b: ({**h, "webhook-id": "evt_2"}, b), id="id"),
        pytest.param(lambda h, b: ({**h, "webhook-timestamp": str(NOW + 1)}, b), id="timestamp"),
        pytest.param(lambda h, b: ({**h, "webhook-signature": "v1,AAAA"}, b), id="signature"),
        pytest.param(
            lambda h, b: ({**h, "webhook-signature": h["webhook-signature"].replace("v1,", "v2,")}, b),
            id="version",
        ),
        pytest.param(
            lambda h, b: ({k: v for k, v in h.items() if k != "webhook-signature"}, b), id="missing"
        ),
        pytest.param(lambda h, b: ({**h, "webhook-timestamp": "soon"}, b), id="not-a-number"),
    ],
)
def test_verify_rejects_tampering(tamper):
    body = b'{"type":"invoice.paid"}'
    sent = headers(SPEC_SECRET, "evt_1", NOW, body)
    bad_headers, bad_body = tamper(dict(sent), body)
    with pytest.raises(WebhookVerificationError):
        verify(SPEC_SECRET, bad_headers, bad_body, now=NOW)


def test_verify_rejects_another_secret():
    sent = headers(SPEC_SECRET, "evt_1", NOW, b"{}")
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        verify("whsec_" + base64.b64encode(b"x" * 24).decode(), sent, b"{}", now=NOW)


@pytest.mark.parametrize(
    ("age", "ok"), [(0, True), (300, True), (-300, True), (301, False), (-301, False), (86400, False)]
)
def test_verify_enforces_the_timestamp_tolerance(age, ok):
    sent = headers(SPEC_SECRET, "evt_1", NOW - age, b"{}")
    if ok:
        verify(SPEC_SECRET, sent, b"{}", now=NOW)
    else:
        with pytest.raises(WebhookVerificationError, match="too (old|new)"):
            verify(SPEC_SECRET, sent, b"{}", now=NOW)


def test_ids_and_timestamps_that_would_break_the_signed_content_are_refused():
    with pytest.raises(ValueError):
        sign(SPEC_SECRET, "evt.1", NOW, b"{}")
    with pytest.raises(ValueError):
        sign(SPEC_SECRET, "evt_1", -1, b"{}")
    with pytest.raises(ValueError):
        sign("whsec_not base64!", "evt_1", NOW, b"{}")


@given(
    body=st.binary(max_size=2048),
    msg_id=st.from_regex(r"\Aevt_[A-Za-z0-9]{1,20}\Z"),
    ts=st.integers(0, 2**33),
)
def test_every_signed_message_verifies(body, msg_id, ts):
    verify(SPEC_SECRET, headers(SPEC_SECRET, msg_id, ts, body), body, now=ts)
