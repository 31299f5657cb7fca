"""Routing rules: "when <conditions> then <actions>", stored as JSON and evaluated purely.

A rule is data (an admin edits it, the database keeps it as JSON); `Rule` validates it and
`matches` decides, from a `RuleFacts` snapshot the worker reads, whether it fires. Every
condition given must hold (AND); a list inside one condition is any-of (OR). The evaluator
does no I/O: the worker applies the returned actions (hub.actions.routing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from hub.domain.types import Channel

PRIORITIES = ("low", "normal", "high", "urgent")
Priority = Literal["low", "normal", "high", "urgent"]
Trigger = Literal["new_conversation", "new_message"]
# A bot's intent is a label on the conversation: `intent:return_refund`.
INTENT_PREFIX = "intent:"
MAX_TERMS = 20
MAX_REPLY_CHARS = 2000

_Term = Annotated[str, Field(min_length=1, max_length=200)]
_Label = Annotated[str, Field(min_length=1, max_length=64)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class When(_Strict):
    """Conditions; an empty list or None is "any"."""

    trigger: Trigger = "new_message"
    channels: list[Channel] = Field(default_factory=list, max_length=5)
    text_contains: list[_Term] = Field(default_factory=list, max_length=MAX_TERMS)
    intents: list[_Label] = Field(default_factory=list, max_length=MAX_TERMS)
    labels: list[_Label] = Field(default_factory=list, max_length=MAX_TERMS)
    has_orders: bool | None = None
    email_domains: list[_Term] = Field(default_factory=list, max_length=MAX_TERMS)

    @field_validator("email_domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        return [d.strip().lower().lstrip("@") for d in value if d.strip().lstrip("@")]

    @field_validator("intents")
    @classmethod
    def _intents(cls, value: list[str]) -> list[str]:
        return [v.removeprefix(INTENT_PREFIX) for v in value]


class AddLabel(_Strict):
    action: Literal["add_label"] = "add_label"
    label: _Label


class AssignTo(_Strict):
    action: Literal["assign"] = "assign"
    operator_id: int = Field(gt=0)


class SetTeam(_Strict):
    action: Literal["set_team"] = "set_team"
    team_id: int = Field(gt=0)


class SetPriority(_Strict):
    action: Literal["set_priority"] = "set_priority"
    priority: Priority


class SendReply(_Strict):
    action: Literal["reply"] = "reply"
    text: str = Field(min_length=1, max_length=MAX_REPLY_CHARS)


Action = Annotated[
    AddLabel | AssignTo | SetTeam | SetPriority | SendReply, Field(discriminator="action")
]


class Rule(_Strict):
    when: When = Field(default_factory=When)
    then: list[Action] = Field(min_length=1, max_length=10)


RULE = TypeAdapter(Rule)


def parse_rule(raw: str | bytes) -> Rule:
    """The stored JSON as a rule; pydantic.ValidationError when it is not one."""
    return RULE.validate_json(raw)


@dataclass(frozen=True, slots=True)
class RuleFacts:
    """What a rule may look at, read once per message by the worker."""

    trigger: Trigger
    channel: str
    text: str
    labels: frozenset[str] = field(default_factory=frozenset)
    has_orders: bool = False
    emails: tuple[str, ...] = ()


def matches(rule: Rule, facts: RuleFacts) -> bool:
    """Every condition given holds. A new conversation's first message is also a new
    message: a `new_message` rule fires on it too."""
    when = rule.when
    if when.trigger == "new_conversation" and facts.trigger != "new_conversation":
        return False
    if when.channels and facts.channel not in {c.value for c in when.channels}:
        return False
    if when.text_contains:
        text = facts.text.casefold()
        if not any(term.casefold() in text for term in when.text_contains):
            return False
    if when.intents and not any(INTENT_PREFIX + i in facts.labels for i in when.intents):
        return False
    if when.labels and not any(label in facts.labels for label in when.labels):
        return False
    if when.has_orders is not None and when.has_orders != facts.has_orders:
        return False
    if when.email_domains:
        domains = {e.rsplit("@", 1)[-1].lower() for e in facts.emails}
        if not domains & set(when.email_domains):
            return False
    return True


def firing(rules: list[tuple[str, Rule]], facts: RuleFacts) -> list[tuple[str, Rule]]:
    """The named rules that fire on `facts`, in their order."""
    return [(name, rule) for name, rule in rules if matches(rule, facts)]
