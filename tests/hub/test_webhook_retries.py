"""Which answers of a webhook target are tried again, and how long the hub waits."""

from __future__ import annotations

import pytest

from hub.queue.webhook_http import judge
from hub.queue.webhooks import MAX_DELAY_SECONDS, RetryPolicy


@pytest.mark.parametrize(
    ("status", "delivered", "retryable"),
    [
        (200, True, False),
        (204, True, False),
        (299, True, False),
        (301, False, True),
        (302, False, True),
        (307, False, True),
        (308, False, True),
        (400, False, False),
        (401, False, False),
        (404, False, False),
        (410, False, False),
        (408, False, True),
        (429, False, True),
        (500, False, True),
        (502, False, True),
        (503, False, True),
    ],
)
def test_2xx_delivers_4xx_is_final_and_the_rest_is_tried_again(
    status: int, delivered: bool, retryable: bool
) -> None:
    result = judge(status, "http://169.254.169.254/" if 300 <= status < 400 else None, None, 12)
    assert (result.delivered, result.retryable, result.status) == (delivered, retryable, status)
    assert result.duration_ms == 12
    if 300 <= status < 400:
        assert result.error is not None and "not followed" in result.error


def test_the_pause_doubles_up_to_an_hour_and_a_retry_after_is_respected() -> None:
    policy = RetryPolicy(max_attempts=10, first_delay=5.0)
    pauses = [policy.delay(made, None) for made in range(1, 12)]
    for made, pause in enumerate(pauses, start=1):
        expected = min(MAX_DELAY_SECONDS, 5.0 * 2 ** (made - 1))
        assert 0.8 * expected <= pause <= 1.2 * expected
    assert policy.delay(1, 120.0) >= 120.0  # 429 Retry-After: 120
    assert policy.delay(1, 10**9) <= MAX_DELAY_SECONDS * 1.2
    assert judge(429, None, "30", 1).retry_after == 30.0
    assert judge(503, None, "soon", 1).retry_after is None
