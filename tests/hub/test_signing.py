"""The outgoing signature: what a shop's receiver checks before trusting a delivery."""

from __future__ import annotations

from hub.domain.signing import sign, verify

SECRET = "whsec-test"
BODY = b'{"event":"message.created"}'


def test_a_signed_body_verifies_within_the_tolerance() -> None:
    header = sign(SECRET, BODY, 1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert verify(SECRET, BODY, header, now=1_700_000_100)


def test_a_changed_body_a_wrong_secret_or_a_stale_time_fail() -> None:
    header = sign(SECRET, BODY, 1_700_000_000)
    assert not verify(SECRET, BODY + b" ", header, now=1_700_000_000)
    assert not verify("other", BODY, header, now=1_700_000_000)
    assert not verify(SECRET, BODY, header, now=1_700_000_301)


def test_a_malformed_header_is_refused_not_raised() -> None:
    for header in ("", "v1=abc", "t=soon,v1=abc", "t=1700000000"):
        assert not verify(SECRET, BODY, header, now=1_700_000_000)
