"""Prometheus metrics of SPEC §9; each stage counts and times itself."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

inbound_received = Counter(
    "hub_inbound_received",
    "Inbound events accepted by a webhook or listener",
    ["channel"],
    registry=REGISTRY,
)
messages_routed = Counter(
    "hub_messages_routed",
    "Inbound messages routed into a conversation",
    ["channel"],
    registry=REGISTRY,
)
outbound_sent = Counter(
    "hub_outbound_sent", "Outbound messages the provider accepted", ["channel"], registry=REGISTRY
)
outbound_failed = Counter(
    "hub_outbound_failed", "Outbound messages that ended failed", ["channel"], registry=REGISTRY
)
feed_events = Counter(
    "hub_feed_events",
    "Order-feed deliveries applied, by platform and outcome (created, updated, repeat, ...)",
    ["source", "outcome"],
    registry=REGISTRY,
)
webhook_attempts = Counter(
    "hub_webhook_attempts",
    "Outgoing webhook POSTs, by outcome (delivered, retry, failed)",
    ["outcome"],
    registry=REGISTRY,
)
agent_bot_deliveries = Counter(
    "hub_agent_bot_deliveries",
    "Events POSTed to the external bot, by outcome (delivered, retried, failed, skipped)",
    ["outcome"],
    registry=REGISTRY,
)
routing_actions = Counter(
    "hub_routing_actions",
    "What routing did: rule_fired, auto_assigned, out_of_hours_reply, waiting_alert",
    ["action"],
    registry=REGISTRY,
)
queue_depth = Gauge("hub_queue_depth", "Jobs waiting in a queue", ["queue"], registry=REGISTRY)
route_latency = Histogram(
    "hub_route_latency_seconds",
    "Webhook accepted to message stored and pushed to the inbox",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
batch_size = Histogram(
    "hub_batch_size",
    "Items a group commit wrote in one batch, by writer (enqueue, replies, order_puts)",
    ["writer"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
    registry=REGISTRY,
)
write_turn_seconds = Histogram(
    "hub_write_turn_seconds",
    "Time a batch held the process's write turn (SQLite's one writer; PostgreSQL: its write)",
    ["writer"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
    registry=REGISTRY,
)


def render() -> bytes:
    return generate_latest(REGISTRY)


def _show_every_channel() -> None:
    """Expose zeros for every channel from the start, so rates work from the first scrape."""
    from hub.domain.types import Channel

    for channel in Channel:
        for counter in (inbound_received, messages_routed, outbound_sent, outbound_failed):
            counter.labels(channel.value)


_show_every_channel()
