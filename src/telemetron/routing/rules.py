"""Routing rules: conditions over a ticket's facts, actions, and the words that explain a match.

A rule's conditions are a JSON object; each condition lists accepted values (any of them
matches, ignoring case), and every condition given must match:

    ticketCategory, customerCategory, deviceCategory   category names
    priority                                           low | medium | high | urgent
    emailDomain                                        the customer's email domain (example.com)
    keywords                                           words or phrases found in the title,
                                                       description or messages

A rule without conditions matches every ticket (a catch-all, usually last). Actions:
``assignMember`` (member id), ``assignTeam`` (team id), ``setPriority``, ``addTags`` (list),
``slackChannel``. Rules run in order of ``position``; the first match wins unless it has
``continue_matching``, in which case later matches apply too (a later assignment or priority
overrides an earlier one, tags add up), and later rules see the priority an earlier one set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from telemetron.enums import PRIORITIES
from telemetron.errors import InvalidRequest
from telemetron.notifications.slack import check_channel

CONDITIONS = ("ticketCategory", "customerCategory", "deviceCategory", "priority", "emailDomain", "keywords")
ACTIONS = ("assignMember", "assignTeam", "setPriority", "addTags", "slackChannel")
# Labels of letters and digits (any script) joined by hyphens, separated by dots: what an email
# address can end with. A value that is not one (a space, a comma) could never match a customer.
_DOMAIN = re.compile(r"(?:[^\W_](?:[\w-]*[^\W_])?\.)*[^\W_](?:[\w-]*[^\W_])?")
CONDITION_LABELS = {  # how people read a condition (routing reasons, the web app)
    "ticketCategory": "ticket category",
    "customerCategory": "customer category",
    "deviceCategory": "device category",
    "priority": "priority",
    "emailDomain": "customer email domain",
    "keywords": "text mentions",
}


@dataclass
class TicketFacts:
    """What rules look at. Customer and device categories are loaded only if a rule asks, and the
    lower-cased text (up to 64 MB for a long conversation) is built only if a rule has keywords."""

    category: str | None
    priority: str
    email: str
    text_parts: tuple[str, ...] = ()
    customer_category: str | None = None
    device_categories: set[str] = field(default_factory=set)

    @cached_property
    def text(self) -> str:
        return "\n".join(self.text_parts).lower()

    @property
    def email_domain(self) -> str:
        return self.email.rsplit("@", 1)[-1].lower()


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    name: str
    position: int
    conditions: dict[str, list[str]]
    actions: dict[str, Any]
    continue_matching: bool = False


def validate_conditions(conditions: dict[str, Any]) -> dict[str, list[str]]:
    clean: dict[str, list[str]] = {}
    for key, values in conditions.items():
        if key not in CONDITIONS:
            raise InvalidRequest(f"Unknown condition '{key}'. Conditions: {', '.join(CONDITIONS)}", field="conditions")
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v.strip() for v in values):
            raise InvalidRequest(f"Condition '{key}' must be a non-empty list of strings", field=f"conditions.{key}")
        if key == "priority" and any(v.strip().lower() not in PRIORITIES for v in values):
            raise InvalidRequest(f"Condition 'priority' takes: {', '.join(PRIORITIES)}", field="conditions.priority")
        if key == "emailDomain":  # "@Acme.com" as people type it: the domain is acme.com
            values = [v.strip().lstrip("@").lower() for v in values]
            bad = next((v for v in values if not _DOMAIN.fullmatch(v)), None)
            if bad is not None:
                raise InvalidRequest(f"Condition 'emailDomain' takes domains such as example.com, not '{bad}'",
                                     field="conditions.emailDomain")
        clean[key] = [v.strip() for v in values]
    return clean


def validate_actions(actions: dict[str, Any]) -> dict[str, Any]:
    unknown = set(actions) - set(ACTIONS)
    if unknown:
        raise InvalidRequest(f"Unknown action '{sorted(unknown)[0]}'. Actions: {', '.join(ACTIONS)}", field="actions")
    if not actions:
        raise InvalidRequest("A rule needs at least one action", field="actions")
    if "assignMember" in actions and "assignTeam" in actions:
        raise InvalidRequest("Assign to a member or to a team, not both", field="actions")
    if "setPriority" in actions and actions["setPriority"] not in PRIORITIES:
        raise InvalidRequest(f"setPriority takes: {', '.join(PRIORITIES)}", field="actions.setPriority")
    if "addTags" in actions:
        tags = actions["addTags"]
        if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
            raise InvalidRequest("addTags must be a list of non-empty strings", field="actions.addTags")
        actions = {**actions, "addTags": [t.strip() for t in tags]}
    if "slackChannel" in actions:
        channel = actions["slackChannel"]
        actions = {**actions, "slackChannel": check_channel(channel, field="actions.slackChannel")}
    return actions


def _contains_phrase(text: str, phrase: str) -> bool:
    return re.search(r"(?<!\w)" + re.escape(phrase.lower()) + r"(?!\w)", text) is not None


def explain_match(rule: Rule, facts: TicketFacts) -> str | None:
    """Why ``rule`` matches ``facts`` (one clause per condition), or None if it does not."""
    clauses = []
    for key, accepted in rule.conditions.items():
        wanted = [v.lower() for v in accepted]
        if key == "keywords":
            hits = [v for v in accepted if _contains_phrase(facts.text, v)]
            if not hits:
                return None
            clauses.append(f"{CONDITION_LABELS[key]} '{hits[0]}'")
            continue
        if key == "deviceCategory":
            have = {c.lower() for c in facts.device_categories}
            hits = [v for v in accepted if v.lower() in have]
            if not hits:
                return None
            clauses.append(f"{CONDITION_LABELS[key]} is {hits[0]}")
            continue
        value = {
            "ticketCategory": facts.category,
            "customerCategory": facts.customer_category,
            "priority": facts.priority,
            "emailDomain": facts.email_domain,
        }[key]
        if value is None or value.lower() not in wanted:
            return None
        clauses.append(f"{CONDITION_LABELS[key]} is {value}")
    return "; ".join(clauses) if clauses else "it matches every ticket"


def needs_customer_facts(rules: list[Rule]) -> bool:
    return any("customerCategory" in r.conditions or "deviceCategory" in r.conditions for r in rules)
