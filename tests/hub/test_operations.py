"""Health and Prometheus metrics as an operator's monitoring sees them."""

from __future__ import annotations

from tests.factories import messages_of, telegram_update
from tests.support import RunningHub, eventually, operator_reply


async def metric(hub: RunningHub, line_start: str) -> float:
    async with hub.http.get(f"{hub.url}/metrics") as response:
        assert response.status == 200
        for line in (await response.text()).splitlines():
            if line.startswith(line_start):
                return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{line_start} not in /metrics")


async def test_healthz_answers_when_database_and_queue_do(hub: RunningHub) -> None:
    async with hub.http.get(f"{hub.url}/healthz") as response:
        assert response.status == 200
        checks = (await response.json())["checks"]
        assert checks == {"database": "ok", "database_write": "ok", "queue": "ok"}


async def test_metrics_count_received_routed_and_time_the_route(hub: RunningHub) -> None:
    received = 'hub_inbound_received_total{channel="telegram"}'
    routed = 'hub_messages_routed_total{channel="telegram"}'
    before = (await metric(hub, received), await metric(hub, routed))
    latency_before = await metric(hub, "hub_route_latency_seconds_count")
    await hub.post_telegram(telegram_update(4100, "count me"))
    await eventually(lambda: messages_of(hub.hub, channel="telegram"))
    assert await metric(hub, received) == before[0] + 1
    assert await metric(hub, routed) == before[1] + 1
    assert await metric(hub, "hub_route_latency_seconds_count") == latency_before + 1
    assert await metric(hub, 'hub_queue_depth{queue="outbound"}') == 0

    # A reply that the provider accepts counts as sent on its channel, not as failed.
    sent = 'hub_outbound_sent_total{channel="telegram"}'
    failed = 'hub_outbound_failed_total{channel="telegram"}'
    before = (await metric(hub, sent), await metric(hub, failed))
    [stored] = await messages_of(hub.hub, channel="telegram")
    await operator_reply(hub, stored.conversation_id, "counted")

    async def counted() -> bool:
        return await metric(hub, sent) == before[0] + 1

    await eventually(counted, what="the sent counter")
    assert await metric(hub, failed) == before[1]
