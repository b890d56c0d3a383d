"""Routing a ticket by its organization's rules, inside the ticket's transaction.

``route`` runs after categorization and auto-resolve and before the notifications (the ext-v1 specification's
order). It returns a ``Decision``: who gets the ticket, its priority, tags, the Slack channel to
use, the rule that decided and the reason in words; ``create_ticket`` stores the rule and the
reason on the ticket, so anyone can later see why a ticket went where it went.

Teams pick a member among their *available* members: round-robin (a cursor on the team row,
locked with SELECT ... FOR UPDATE on PostgreSQL so that concurrent tickets take turns) or
fewest open tickets (ties by member id).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func

from telemetron import audit, ids
from telemetron.categories import service as category_service
from telemetron.clock import utcnow
from telemetron.db.prepared import Prepared
from telemetron.db.scoped import Scoped, tenant_delete, tenant_insert, tenant_select, tenant_update
from telemetron.db.tables import (
    categories,
    customers,
    device_owners,
    devices,
    members,
    routing_rules,
    team_members,
    teams,
    tickets,
)
from telemetron.errors import Conflict, InvalidRequest, NotFound
from telemetron.members import service as member_service
from telemetron.orgs.config_version import bump as bump_config_version
from telemetron.orgs.service import check_name
from telemetron.routing.rules import (
    Rule,
    TicketFacts,
    explain_match,
    needs_customer_facts,
    validate_actions,
    validate_conditions,
)

_r = routing_rules.c
_RULES = Prepared(
    tenant_select(routing_rules, _r.id, _r.name, _r.position, _r.conditions, _r.actions, _r.continue_matching)
    .where(_r.enabled.is_(True))
    .order_by(_r.position, _r.created_at)
)
_ALL_RULES = tenant_select(routing_rules).order_by(_r.position, _r.created_at)
_INSERT_RULE = tenant_insert(routing_rules)
_MAX_POSITION = tenant_select(routing_rules, func.max(_r.position))
_DELETE_RULE = tenant_update(routing_rules).where(_r.id == bindparam("rule_id")).values(enabled=False)

_CUSTOMER_CATEGORY = tenant_select(customers, categories.c.name).join_from(
    customers, categories, categories.c.id == customers.c.category_id
).where(customers.c.id == bindparam("customer_id"))
_DEVICE_CATEGORIES = (
    tenant_select(device_owners, categories.c.name)
    .join_from(device_owners, devices, devices.c.id == device_owners.c.device_id)
    .join(categories, categories.c.id == devices.c.category_id)
    .where(device_owners.c.customer_id == bindparam("customer_id"))
)
_TEAM = tenant_select(teams).where(teams.c.id == bindparam("team_id")).with_for_update()
_TEAM_BY_NAME = tenant_select(teams).where(teams.c.name == bindparam("name"))
_ALL_TEAMS = tenant_select(teams).order_by(teams.c.name)
_INSERT_TEAM = tenant_insert(teams)
_INSERT_TEAM_MEMBER = tenant_insert(team_members)
_TEAM_AVAILABLE = (
    tenant_select(team_members, members.c.id, members.c.email, members.c.name)
    .join_from(team_members, members, members.c.id == team_members.c.member_id)
    .where(team_members.c.team_id == bindparam("team_id"), members.c.available.is_(True))
    .order_by(members.c.id)
)
_OPEN_COUNTS = (
    tenant_select(tickets, tickets.c.assignee_id, func.count())
    .where(tickets.c.assignee_id.in_(bindparam("member_ids", expanding=True)), tickets.c.status != "resolved")
    .group_by(tickets.c.assignee_id)
)
_SET_CURSOR = tenant_update(teams).where(teams.c.id == bindparam("team_id")).values(last_assigned_member_id=bindparam("member_id"))


@dataclass(slots=True)
class Decision:
    assignee: dict | None = None  # {"id", "email", "name"}
    priority: str | None = None  # set only when a rule changed it
    tags: list[str] = field(default_factory=list)
    slack_channel: str | None = None
    rule_id: str | None = None
    reason: str | None = None
    matched: list[dict] = field(default_factory=list)  # every rule that matched, with why


def _person(row) -> dict:
    """A member as plain JSON-ready data (row mappings have SQL-quoted keys that orjson refuses)."""
    return {"id": row["id"], "email": row["email"], "name": row["name"]}


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def load_rules(scoped: Scoped) -> list[Rule]:
    return [
        Rule(id=r[0], name=r[1], position=r[2], conditions=_json(r[3]), actions=_json(r[4]), continue_matching=bool(r[5]))
        for r in scoped.execute_prepared(_RULES).fetchall()
    ]


def add_customer_facts(scoped: Scoped, facts: TicketFacts, customer_id: str) -> None:
    facts.customer_category = scoped.execute(_CUSTOMER_CATEGORY, {"customer_id": customer_id}).scalar()
    facts.device_categories = {r[0] for r in scoped.execute(_DEVICE_CATEGORIES, {"customer_id": customer_id})}


def route(scoped: Scoped, facts: TicketFacts, *, customer_id: str, rules: list[Rule] | None = None) -> Decision:
    decision = Decision()
    if rules is None:
        rules = load_rules(scoped)
    if not rules:
        return decision
    if needs_customer_facts(rules):
        add_customer_facts(scoped, facts, customer_id)
    reasons = []
    for rule in rules:
        why = explain_match(rule, facts)
        if why is None:
            continue
        outcome = _apply(scoped, rule, decision)
        if decision.priority is not None:
            facts.priority = decision.priority  # a later rule's "priority is urgent" sees what this one set
        decision.matched.append({"ruleId": rule.id, "rule": rule.name, "why": why, "did": outcome})
        decision.rule_id = decision.rule_id or rule.id
        reasons.append(f"rule '{rule.name}' matched because {why}" + (f"; {outcome}" if outcome else ""))
        if not rule.continue_matching:
            break
    decision.reason = ". ".join(reasons) if reasons else "no routing rule matched"
    return decision


def _apply(scoped: Scoped, rule: Rule, decision: Decision) -> str:
    done = []
    actions = rule.actions
    if "assignMember" in actions:
        member = member_service.find_member(scoped, actions["assignMember"])
        if member is None:
            done.append(f"member {actions['assignMember']} no longer exists: not assigned")
        else:
            decision.assignee = _person(member)
            done.append(f"assigned to {member['name']}")
    if "assignTeam" in actions:
        member, how = _pick_from_team(scoped, actions["assignTeam"])
        if member is not None:
            decision.assignee = member
        done.append(how)
    if "setPriority" in actions:
        decision.priority = actions["setPriority"]
        done.append(f"priority set to {actions['setPriority']}")
    if "addTags" in actions:
        decision.tags.extend(t for t in actions["addTags"] if t not in decision.tags)
        done.append("tagged " + ", ".join(actions["addTags"]))
    if "slackChannel" in actions:
        decision.slack_channel = actions["slackChannel"]
        done.append(f"notify {actions['slackChannel']}")
    return ", ".join(done)


def _pick_from_team(scoped: Scoped, team_id: str) -> tuple[dict | None, str]:
    team = scoped.execute(_TEAM, {"team_id": team_id}).mappings().first()
    if team is None:
        return None, f"team {team_id} no longer exists: not assigned"
    available = [_person(r) for r in scoped.execute(_TEAM_AVAILABLE, {"team_id": team_id}).mappings()]
    if not available:
        return None, f"no available member in team {team['name']}: not assigned"
    if team["strategy"] == "least_open":
        counts = dict(scoped.execute(_OPEN_COUNTS, {"member_ids": [m["id"] for m in available]}).all())
        member = min(available, key=lambda m: (counts.get(m["id"], 0), m["id"]))
        how = f"assigned to {member['name']} of team {team['name']} ({counts.get(member['id'], 0)} open tickets, the fewest)"
    else:
        after = team["last_assigned_member_id"]
        later = [m for m in available if after is None or m["id"] > after]
        member = later[0] if later else available[0]
        how = f"assigned to {member['name']} of team {team['name']} (round-robin)"
    scoped.execute(_SET_CURSOR, {"team_id": team_id, "member_id": member["id"]})
    return member, how


# --- administration ----------------------------------------------------------------------------

def _checked_rule(scoped: Scoped, *, name: str, conditions: dict[str, Any], actions: dict[str, Any]) -> dict:
    """Name, conditions and actions made valid for this organization (400/404 with the field)."""
    name = check_name(name, what="The rule name")
    conditions = validate_conditions(conditions)
    actions = validate_actions(actions)
    for key in ("ticketCategory", "customerCategory", "deviceCategory"):  # a misspelt name would never match
        for wanted in conditions.get(key, ()):
            if category_service.find_by_name(scoped, wanted, active_only=False) is None:
                names = ", ".join(c["name"] for c in category_service.list_categories(scoped)) or "none yet"
                raise InvalidRequest(f"No category '{wanted}' in this organization (its categories: {names})",
                                     field=f"conditions.{key}")
    if "assignMember" in actions:
        member_service.get_member(scoped, actions["assignMember"])  # 404 if not this organization's
    if "assignTeam" in actions and scoped.execute(_TEAM, {"team_id": actions["assignTeam"]}).first() is None:
        raise NotFound(f"Team {actions['assignTeam']} not found in this organization", code="team_not_found")
    return {"name": name, "conditions": conditions, "actions": actions}


def add_rule(scoped: Scoped, *, name: str, conditions: dict[str, Any], actions: dict[str, Any],
             position: int | None = None, continue_matching: bool = False) -> dict:
    checked = _checked_rule(scoped, name=name, conditions=conditions, actions=actions)
    if position is None:
        position = (scoped.execute(_MAX_POSITION).scalar() or 0) + 10
    row = {"id": ids.prefixed("rule"), **checked, "position": position, "enabled": True,
           "continue_matching": continue_matching, "created_at": utcnow()}
    scoped.execute(_INSERT_RULE, row)
    bump_config_version(scoped)
    audit.record_scoped(scoped, "routing_rule.added", {
        "ruleId": row["id"], "name": name, "position": position, "conditions": conditions, "actions": actions,
        "continueMatching": continue_matching})
    return row


def list_rules(scoped: Scoped) -> list[dict]:
    return [dict(r) for r in scoped.execute(_ALL_RULES).mappings()]


def disable_rule(scoped: Scoped, rule_id: str) -> None:
    if scoped.execute(_DELETE_RULE, {"rule_id": rule_id}).rowcount == 0:
        raise NotFound(f"Rule {rule_id} not found in this organization", code="rule_not_found")
    bump_config_version(scoped)
    audit.record_scoped(scoped, "routing_rule.removed", {"ruleId": rule_id})


def add_team(scoped: Scoped, *, name: str, strategy: str = "round_robin", member_ids: Sequence[str] = ()) -> dict:
    name = check_name(name, what="The team name")
    if strategy not in ("round_robin", "least_open"):
        raise InvalidRequest("strategy is round_robin or least_open", field="strategy")
    if scoped.execute(_TEAM_BY_NAME, {"name": name}).first() is not None:
        raise Conflict(f"A team named '{name}' already exists", field="name", code="team_exists")
    row = {"id": ids.prefixed("team"), "name": name, "strategy": strategy, "last_assigned_member_id": None,
           "created_at": utcnow()}
    scoped.execute(_INSERT_TEAM, row)
    for member_id in dict.fromkeys(member_ids):  # each member once, in the order given
        member_service.get_member(scoped, member_id)  # 404 if not this organization's
        scoped.execute(_INSERT_TEAM_MEMBER, {"team_id": row["id"], "member_id": member_id})
    audit.record_scoped(scoped, "team.added", {"teamId": row["id"], "name": name, "strategy": strategy,
                                               "memberIds": list(dict.fromkeys(member_ids))})
    return row


def list_teams(scoped: Scoped) -> list[dict]:
    return [dict(r) for r in scoped.execute(_ALL_TEAMS).mappings()]


# --- editing rules and teams (the web app's settings pages) --------------------------------------

_ONE_RULE = tenant_select(routing_rules).where(_r.id == bindparam("rule_id"))
_UPDATE_RULE = tenant_update(routing_rules).where(_r.id == bindparam("rule_id"))
_SET_RULE = _UPDATE_RULE.values(name=bindparam("new_name"), conditions=bindparam("new_conditions"),
                                actions=bindparam("new_actions"), continue_matching=bindparam("new_continue"))
_SET_ENABLED = _UPDATE_RULE.values(enabled=bindparam("new_enabled"))
_SET_POSITION = _UPDATE_RULE.values(position=bindparam("new_position"))
_TEAM_MEMBER_IDS = tenant_select(team_members, team_members.c.member_id).where(
    team_members.c.team_id == bindparam("team_id")).order_by(team_members.c.member_id)
_DELETE_TEAM_MEMBERS = tenant_delete(team_members).where(team_members.c.team_id == bindparam("team_id"))
_SET_STRATEGY = tenant_update(teams).where(teams.c.id == bindparam("team_id")).values(strategy=bindparam("new_strategy"))
STRATEGIES = ("round_robin", "least_open")


def get_rule(scoped: Scoped, rule_id: str) -> dict:
    row = scoped.execute(_ONE_RULE, {"rule_id": rule_id}).mappings().first()
    if row is None:
        raise NotFound(f"Rule {rule_id} not found in this organization", code="rule_not_found")
    return {**dict(row), "conditions": _json(row["conditions"]), "actions": _json(row["actions"])}


def update_rule(scoped: Scoped, rule_id: str, *, name: str, conditions: dict[str, Any], actions: dict[str, Any],
                continue_matching: bool = False) -> dict:
    get_rule(scoped, rule_id)
    checked = _checked_rule(scoped, name=name, conditions=conditions, actions=actions)
    scoped.execute(_SET_RULE, {"rule_id": rule_id, "new_name": checked["name"], "new_conditions": checked["conditions"],
                               "new_actions": checked["actions"], "new_continue": continue_matching})
    bump_config_version(scoped)
    return get_rule(scoped, rule_id)


def set_rule_enabled(scoped: Scoped, rule_id: str, enabled: bool) -> None:
    if scoped.execute(_SET_ENABLED, {"rule_id": rule_id, "new_enabled": enabled}).rowcount == 0:
        raise NotFound(f"Rule {rule_id} not found in this organization", code="rule_not_found")
    bump_config_version(scoped)


def move_rule(scoped: Scoped, rule_id: str, steps: int) -> None:
    """Move a rule ``steps`` places earlier (negative) or later in the order, renumbering every
    rule 10, 20, 30... so that positions stay distinct and room is left for ``--position``."""
    ordered = [r["id"] for r in list_rules(scoped)]
    if rule_id not in ordered:
        raise NotFound(f"Rule {rule_id} not found in this organization", code="rule_not_found")
    at = ordered.index(rule_id)
    ordered.insert(max(0, min(len(ordered) - 1, at + steps)), ordered.pop(at))
    for index, each in enumerate(ordered):
        scoped.execute(_SET_POSITION, {"rule_id": each, "new_position": (index + 1) * 10})
    bump_config_version(scoped)


def team_member_ids(scoped: Scoped, team_id: str) -> list[str]:
    return [r[0] for r in scoped.execute(_TEAM_MEMBER_IDS, {"team_id": team_id})]


def update_team(scoped: Scoped, team_id: str, *, strategy: str, member_ids: list[str]) -> None:
    """Set the team's strategy and its members (replacing them)."""
    if strategy not in STRATEGIES:
        raise InvalidRequest("strategy is round_robin or least_open", field="strategy")
    if scoped.execute(_TEAM, {"team_id": team_id}).first() is None:
        raise NotFound(f"Team {team_id} not found in this organization", code="team_not_found")
    scoped.execute(_SET_STRATEGY, {"team_id": team_id, "new_strategy": strategy})
    scoped.execute(_DELETE_TEAM_MEMBERS, {"team_id": team_id})
    for member_id in dict.fromkeys(member_ids):
        member_service.get_member(scoped, member_id)  # 404 if not this organization's
        scoped.execute(_INSERT_TEAM_MEMBER, {"team_id": team_id, "member_id": member_id})
