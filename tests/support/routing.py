"""Helpers for the routing tests: members, teams and rules, and what a routed ticket stored.

Setup goes through the services (as the CLI does)
or plain SQL/Core for facts the product has no command for yet (a customer's category, a
device); what is checked is what a client reads back and what is stored in ``tickets``.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update

from telemetron.customers.service import get_or_create_by_email
from telemetron.db.engine import Database, utcnow
from telemetron.db.scoped import Scoped
from telemetron.db.tables import (
    categories,
    customers,
    device_owners,
    devices,
    members,
    outbox,
    teams,
    tickets,
)
from telemetron.members.service import add_member
from telemetron.notifications.settings import set_settings
from telemetron.routing.service import add_rule, add_team, disable_rule

PATH = "/api/ext-v1/ticket/createTicket"
SLACK_URL = "http://127.0.0.1:9/x"  # never delivered: the live server runs no worker


def scoped(db: Database, org_id: str, fn, *args, **kwargs):
    """Run ``fn(Scoped, ...)`` for ``org_id`` in one committed transaction."""
    return db.run_sync(lambda conn: fn(Scoped(db, conn, org_id), *args, **kwargs))


def member(db: Database, org_id: str, name: str, *, available: bool = True) -> dict:
    email = f"{name.lower().replace(' ', '.')}.{uuid.uuid4().hex[:6]}@helpdesk.example.com"
    return scoped(db, org_id, add_member, email=email, name=name, available=available)


def team(db: Database, org_id: str, name: str, member_ids: list[str], strategy: str = "round_robin") -> dict:
    return scoped(db, org_id, add_team, name=name, strategy=strategy, member_ids=member_ids)


def rule(db: Database, org_id: str, name: str, conditions: dict | None = None, *, position: int | None = None,
         continue_matching: bool = False, **actions: Any) -> dict:
    return scoped(db, org_id, add_rule, name=name, conditions=conditions or {}, actions=actions,
                  position=position, continue_matching=continue_matching)


def disable(db: Database, org_id: str, rule_id: str) -> None:
    scoped(db, org_id, disable_rule, rule_id)


def use_slack(db: Database, org_id: str, url: str = SLACK_URL) -> None:
    scoped(db, org_id, set_settings, slack_webhook_url=url)


def post(http, tenant, **fields):
    """POST createTicket; a field given as None is left out of the body."""
    body = {"title": "Device not connecting to WiFi", "customerEmail": "jane.roe@example.com", **fields}
    body = {k: v for k, v in body.items() if v is not None}
    return http.post(PATH, json=body, headers=tenant.headers)


def create(http, tenant, **fields) -> dict:
    response = post(http, tenant, **fields)
    assert response.status_code == 200, response.text
    return response.json()


def stored(db: Database, ticket_id: str) -> dict:
    """The ticket's row as stored (JSON columns decoded by SQLAlchemy, as on both backends)."""
    with db.engine.connect() as conn:
        row = conn.execute(select(tickets).where(tickets.c.id == ticket_id)).mappings().one()
    return dict(row)


def assignee_of(db: Database, ticket_id: str) -> str | None:
    return stored(db, ticket_id)["assignee_id"]


def _notifications(db: Database, ticket_id: str) -> list[tuple[str, str, str | None, dict]]:
    """``(event, channel, target, payload)`` of each notification of ``ticket_id``.

    The ticket's transaction queues one event row; a worker fans it out to one message per
    destination (``events.planned`` does the same here, before any worker ran: the live server
    runs none); once fanned out, the deliveries are read as they are.
    """
    from telemetron.notifications.events import planned

    with db.engine.connect() as conn:
        rows = conn.execute(
            select(outbox.c.organization_id, outbox.c.channel, outbox.c.event, outbox.c.target, outbox.c.payload)
            .where(outbox.c.ticket_id == ticket_id, outbox.c.status != "fanned_out")
            .order_by(outbox.c.id)
        ).all()
    return [(event, *delivery) for org_id, channel, event, target, payload in rows
            for delivery in planned(org_id, [(channel, event, target, payload)])]


def outbox_payloads(db: Database, ticket_id: str, channel: str = "slack") -> list[dict]:
    """What each notification of ``ticket_id`` will send: the Slack message, or the webhook body."""
    from telemetron.notifications.events import slack_message

    return [slack_message(event, payload) if channel == "slack" else payload
            for event, kind, _target, payload in _notifications(db, ticket_id) if kind == channel]


def outbox_targets(db: Database, ticket_id: str) -> list[tuple[str, str | None]]:
    """``(channel, target)`` of every notification of ``ticket_id``: ``("slack", None)``, ``("webhook", "whk_...")``."""
    return [(kind, target) for _event, kind, target, _payload in _notifications(db, ticket_id)]


def fan_out(db: Database, org_id: str) -> int:
    """Do what a worker does first, without sending: replace ``org_id``'s queued events by one
    message per destination (``outbox.repository.fan_out``, as the worker calls it)."""
    from telemetron.notifications.events import deliveries
    from telemetron.outbox import repository

    def unit(conn) -> int:
        c = outbox.c
        conn.execute(update(outbox).where(c.organization_id == org_id, c.channel == repository.EVENT,
                                          c.status == "pending").values(claimed_by="tests"))
        events = [repository.Claimed(*row) for row in conn.execute(
            select(c.id, c.organization_id, c.channel, c.event, c.target, c.payload, c.attempts, c.created_at,
                   c.ticket_id).where(c.organization_id == org_id, c.claimed_by == "tests", c.channel == repository.EVENT))]
        repository.fan_out(conn, [(e, deliveries(e.event, e.organization_id, e.payload)) for e in events], worker="tests")
        return len(events)

    return db.run_sync(unit)


def category_id(db: Database, org_id: str, name: str) -> str:
    with db.engine.connect() as conn:
        return conn.execute(
            select(categories.c.id).where(categories.c.organization_id == org_id, categories.c.name == name)
        ).scalar_one()


def customer_with_category(db: Database, org_id: str, email: str, category: str) -> str:
    """A customer of ``org_id`` labelled with the organization's category ``category`` (plain SQL update)."""
    customer, _ = scoped(db, org_id, get_or_create_by_email, email)
    cat = category_id(db, org_id, category)
    with db.engine.begin() as conn:
        conn.execute(update(customers).where(customers.c.id == customer["id"]).values(category_id=cat))
    return customer["id"]


def give_device(db: Database, org_id: str, email: str, category: str | None) -> str:
    """A device (of category ``category``) owned by the customer ``email`` of ``org_id``; returns the customer id."""
    customer, _ = scoped(db, org_id, get_or_create_by_email, email)
    cat = category_id(db, org_id, category) if category else None
    now = utcnow()
    device_id = f"dev_{uuid.uuid4().hex[:12]}"
    with db.engine.begin() as conn:
        conn.execute(devices.insert().values(
            id=device_id, organization_id=org_id, identifier=f"SN-{uuid.uuid4().hex[:10]}", type="router",
            properties={}, metadata={}, category_id=cat,
            created_at=now, updated_at=now,
        ))
        conn.execute(device_owners.insert().values(
            organization_id=org_id, device_id=device_id, customer_id=customer["id"], created_at=now,
        ))
    return customer["id"]


def set_available(db: Database, member_id: str, available: bool) -> None:
    with db.engine.begin() as conn:
        conn.execute(update(members).where(members.c.id == member_id).values(available=available))


def set_ticket(db: Database, ticket_id: str, **values: Any) -> None:
    with db.engine.begin() as conn:
        conn.execute(update(tickets).where(tickets.c.id == ticket_id).values(**values))


def team_cursor(db: Database, team_id: str) -> str | None:
    with db.engine.connect() as conn:
        return conn.execute(select(teams.c.last_assigned_member_id).where(teams.c.id == team_id)).scalar_one()


def public(m: dict) -> dict:
    """A member as createTicket shows it."""
    return {"id": m["id"], "email": m["email"], "name": m["name"]}
