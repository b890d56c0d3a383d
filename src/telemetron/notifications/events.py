"""Ticket events to notify: one outbox row per event, one delivery per destination after commit.

``publish`` is called inside the transaction that changed the ticket, so a notification exists
if and only if the change committed. It writes a single *event* row (outbox channel ``event``):
the event, a snapshot of the ticket at that moment, its link, the routing rule's Slack channel,
the detail, when it happened, and which destinations it goes to. The delivery worker fans it
out after commit (``deliveries``): a Slack message for the organization's incoming webhook and
a webhook delivery per enabled endpoint, each then retried on its own. One indexed insert per
event instead of one per destination keeps the request path cheap (bench/README.md).

Which destinations an event goes to is decided when the event happens (the organization's
configuration that the ticket's own transaction saw): an endpoint added later does not receive
older events, one removed or disabled later fails its delivery with that reason. Where they are
(Slack's URL, an endpoint's URL and secret, whether it is still enabled) is read at delivery time,
as before. What is sent is always the snapshot taken at event time.
Auto-resolved tickets are not announced (the ext-v1 specification's rule); callers decide that.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from telemetron.clock import utcnow
from telemetron.db.scoped import Scoped
from telemetron.notifications import settings, slack
from telemetron.outbox.repository import EVENT, enqueue

TICKET_CREATED = "ticket.created"
CUSTOMER_REPLIED = "ticket.customer_replied"
STATUS_CHANGED = "ticket.status_changed"
# An agent's public reply, for the app or chatbot that opened the ticket to deliver (webhooks only:
# the team's Slack channel does not need its own replies).
AGENT_REPLIED = "ticket.agent_replied"


def ticket_link(public_url: str | None, ticket_id: str) -> str | None:
    return f"{public_url}/tickets/{ticket_id}" if public_url else None


def publish(scoped: Scoped, event: str, ticket: dict[str, Any], *, slack_channel: str | None = None,
            detail: dict[str, Any] | None = None, destinations=None, now: datetime | None = None,
            occurred_at: str | None = None, to_slack: bool = True) -> int:
    """Enqueue ``event`` about ``ticket`` (a ticket summary); returns how many deliveries it will make.

    ``destinations`` is the organization's ``OrgConfig`` when the caller has it; else it is read.
    ``now`` (and its ISO text, ``occurred_at``) when the caller has them: createTicket's own.
    """
    if destinations is not None:
        slack_url, public_url = destinations.slack_webhook_url, destinations.public_url
        endpoint_ids = destinations.webhook_endpoint_ids
    else:
        slack_url, public_url = settings.get_settings(scoped)
        endpoint_ids = settings.enabled_endpoint_ids(scoped)
    if not to_slack:
        slack_url = None
    if not slack_url and not endpoint_ids:
        return 0
    if now is None:
        now = utcnow()
    payload: dict[str, Any] = {
        "ticket": ticket,
        "occurredAt": occurred_at or now.isoformat(),
        "destinations": {"slack": bool(slack_url), "webhooks": list(endpoint_ids)},
    }
    # Absent rather than null: every byte of this row is written on the request path.
    link = ticket_link(public_url, ticket["id"])
    if link is not None:
        payload["link"] = link
    if slack_channel is not None:
        payload["channel"] = slack_channel  # the routing rule's Slack channel override
    if detail is not None:
        payload["detail"] = detail
    enqueue(scoped, channel=EVENT, event=event, ticket_id=ticket["id"], now=now, payload=payload)
    return bool(slack_url) + len(endpoint_ids)


def deliveries(event: str, organization_id: str, payload: dict[str, Any]) -> list[tuple[str, str | None, dict]]:
    """The fan-out of an event row written by ``publish``: ``(channel, target, payload)`` per destination.

    A Slack delivery stores the snapshot (the worker builds the Block Kit message from it, see
    ``slack_message``); a webhook delivery stores the exact JSON body to sign and send.
    """
    ticket, link, detail = payload["ticket"], payload.get("link"), payload.get("detail")
    to = payload["destinations"]
    out: list[tuple[str, str | None, dict]] = []
    if to["slack"]:
        out.append(("slack", None, {"ticket": ticket, "link": link, "channel": payload.get("channel"), "detail": detail}))
    if to["webhooks"]:
        body = {"event": event, "occurredAt": payload["occurredAt"], "organizationId": organization_id,
                "ticket": {**ticket, "link": link}}
        if detail:
            body["detail"] = detail
        out.extend(("webhook", endpoint_id, body) for endpoint_id in to["webhooks"])
    return out


def planned(organization_id: str, rows) -> list[tuple[str, str | None, dict]]:
    """Outbox rows ``(channel, event, target, payload)`` as the deliveries they are or will become."""
    out: list[tuple[str, str | None, dict]] = []
    for channel, event, target, payload in rows:
        if channel == EVENT:
            out.extend(deliveries(event, organization_id, payload))
        else:
            out.append((channel, target, payload))
    return out


def slack_message(event: str, snapshot: dict[str, Any], *, default_channel: str | None = None) -> dict[str, Any]:
    """The Slack message for a Slack delivery's snapshot (see ``deliveries``): to the routing rule's
    channel, else the organization's default channel. A test ("Send a test") carries its message."""
    if "message" in snapshot:
        return snapshot["message"]
    detail = snapshot.get("detail") or {}
    extra = None
    if event == CUSTOMER_REPLIED:
        extra = detail.get("content")
    elif event == STATUS_CHANGED:
        extra = f"{detail.get('from')} → {detail.get('to')}"
    return slack.build_message(event, snapshot["ticket"], link=snapshot.get("link"),
                               channel=snapshot.get("channel") or default_channel,
                               extra=extra, reopened=event == CUSTOMER_REPLIED and bool(detail.get("reopened")))
