"""The pure parts of routing: the rule evaluator, SLA clocks and business hours."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from hub.domain.hours import closed_since, is_open, parse_hours, zone
from hub.domain.rules import RuleFacts, firing, matches, parse_rule
from hub.domain.sla import Clock, SlaPolicy, Targets, clock, conversation_sla

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday


def rule(when: dict[str, object], *then: dict[str, object]) -> str:
    return json.dumps({"when": when, "then": list(then) or [{"action": "add_label", "label": "x"}]})


def facts(**kw: object) -> RuleFacts:
    base: dict[str, object] = {"trigger": "new_message", "channel": "sms", "text": "hello"}
    base.update(kw)
    return RuleFacts(**base)  # type: ignore[arg-type]


def test_every_condition_must_hold_and_a_list_is_any_of() -> None:
    refund = parse_rule(
        rule({"channels": ["sms", "email"], "text_contains": ["Refund", "money back"]})
    )
    assert matches(refund, facts(text="I want a REFUND please"))
    assert matches(refund, facts(channel="email", text="my money back"))
    assert not matches(refund, facts(channel="telegram", text="refund"))
    assert not matches(refund, facts(text="where is my order"))


def test_new_conversation_rules_skip_later_messages_but_new_message_rules_see_both() -> None:
    first = parse_rule(rule({"trigger": "new_conversation"}))
    every = parse_rule(rule({}))
    assert matches(first, facts(trigger="new_conversation"))
    assert not matches(first, facts(trigger="new_message"))
    assert matches(every, facts(trigger="new_conversation"))


def test_intent_label_customer_conditions() -> None:
    intent = parse_rule(rule({"intents": ["intent:return_refund"]}))
    assert matches(intent, facts(labels=frozenset({"intent:return_refund"})))
    assert not matches(intent, facts(labels=frozenset({"return_refund"})))
    vip = parse_rule(rule({"labels": ["vip"], "has_orders": True}))
    assert matches(vip, facts(labels=frozenset({"vip"}), has_orders=True))
    assert not matches(vip, facts(labels=frozenset({"vip"}), has_orders=False))
    corp = parse_rule(rule({"email_domains": ["@Acme.example"]}))
    assert matches(corp, facts(emails=("ann@acme.example",)))
    assert not matches(corp, facts(emails=("ann@acme.example.org",)))
    assert not matches(corp, facts())


def test_firing_keeps_the_rules_order() -> None:
    a, b = parse_rule(rule({"text_contains": ["x"]})), parse_rule(rule({}))
    assert [n for n, _ in firing([("b", b), ("a", a)], facts(text="x"))] == ["b", "a"]
    assert [n for n, _ in firing([("a", a), ("b", b)], facts(text="y"))] == ["b"]


@pytest.mark.parametrize(
    "bad",
    [
        rule({"channels": ["fax"]}),
        rule({"bogus": 1}),
        json.dumps({"when": {}, "then": []}),
        rule({}, {"action": "set_priority", "priority": "asap"}),
        rule({}, {"action": "assign", "operator_id": 0}),
        rule({}, {"action": "explode"}),
        "not json",
    ],
)
def test_a_rule_that_is_not_one_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        parse_rule(bad)


def test_sla_clock_states() -> None:
    assert clock(T0, 0, None, T0 + timedelta(days=9)).clock is Clock.NONE
    assert clock(T0, 60, None, T0 + timedelta(minutes=10)).clock is Clock.RUNNING
    assert clock(T0, 60, None, T0 + timedelta(minutes=50)).clock is Clock.DUE_SOON
    late = clock(T0, 60, None, T0 + timedelta(minutes=61))
    assert late.clock is Clock.OVERDUE and late.due_at == T0 + timedelta(hours=1) and late.late
    assert clock(T0, 60, T0 + timedelta(minutes=60), T0 + timedelta(days=1)).clock is Clock.MET
    assert clock(T0, 60, T0 + timedelta(minutes=61), T0).clock is Clock.BREACHED


def test_the_headline_is_the_first_response_until_given() -> None:
    policy = SlaPolicy(urgent=Targets(first_response=15, resolution=120))
    now = T0 + timedelta(minutes=20)
    waiting = conversation_sla(policy, "urgent", T0, None, None, now)
    assert waiting.headline.clock is Clock.OVERDUE and waiting.headline.due_at == T0 + timedelta(
        minutes=15
    )
    answered = conversation_sla(policy, "urgent", T0, T0 + timedelta(minutes=5), None, now)
    assert answered.headline.clock is Clock.RUNNING
    assert answered.headline.due_at == T0 + timedelta(minutes=120)
    assert (
        conversation_sla(policy, "whatever", T0, None, None, now).first_response.clock
        is Clock.RUNNING
    )


def test_business_hours_in_the_teams_zone() -> None:
    hours = parse_hours(json.dumps({"mon": [["09:00", "18:00"]], "tue": [["09:00", "18:00"]]}))
    moscow = zone("Europe/Moscow")  # UTC+3: Monday 09:00-18:00 is 06:00-15:00 UTC
    assert is_open(hours, moscow, T0)
    assert not is_open(hours, moscow, T0.replace(hour=15))
    evening = T0.replace(hour=20)
    assert closed_since(hours, moscow, evening) == T0.replace(hour=15)
    # Tuesday 05:00 UTC is still the same closed period as Monday evening.
    assert closed_since(hours, moscow, evening + timedelta(hours=9)) == T0.replace(hour=15)
    # Wednesday evening: a new period began at Tuesday's close.
    wed = T0 + timedelta(days=2, hours=8)
    assert closed_since(hours, moscow, wed) == T0 + timedelta(days=1, hours=3)
    assert closed_since(hours, moscow, T0) is None


def test_no_schedule_is_always_open_and_bad_ones_are_refused() -> None:
    assert is_open(parse_hours(None), zone("UTC"), T0)
    with pytest.raises(ValidationError):
        parse_hours(json.dumps({"mon": [["18:00", "09:00"]]}))
    with pytest.raises(ValidationError):
        parse_hours(json.dumps({"mon": [["9am", "18:00"]]}))
    with pytest.raises(ValueError, match="unknown time zone"):
        zone("Mars/Olympus")
