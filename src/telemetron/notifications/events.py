"""Ticket events to notify: a Slack message and a webhook delivery per enabled endpoint, via the outbox.

Called inside the transaction that changed the ticket, so a notification exists if and only if
the change committed. What is sent is a snapshot of the ticket at the time of the event.
Auto-resolved tickets are not announced (Telemetron's rule); callers decide that.
"""

from __future__ import annotations

from typing import Any

from telemetron.db.engine import utcnow
from telemetron.db.scoped import Scoped
from telemetron.notifications import settings, slack
from telemetron.outbox.repository import enqueue

TICKET_CREATED = "ticket.created"
CUSTOMER_REPLIED = "ticket.customer_replied"
STATUS_CHANGED = "ticket.status_changed"


def ticket_link(public_url: str | None, ticket_id: str) -> str | None:
    return f"{public_url}/tickets/{ticket_id}" if public_url else None


def publish(scoped: Scoped, event: str, ticket: dict[str, Any], *, slack_channel: str | None = None,
            detail: dict[str, Any] | None = None, destinations=None) -> int:
    """Enqueue ``event`` about ``ticket`` (a ticket summary) for Slack and webhooks; returns how many messages.

    ``destinations`` is the organization's ``OrgConfig`` when the caller has it; else it is read.
    """
    if destinations is not None:
        slack_url, public_url = destinations.slack_webhook_url, destinations.public_url
        endpoint_ids = destinations.webhook_endpoint_ids
    else:
        slack_url, public_url = settings.get_settings(scoped)
        endpoint_ids = settings.enabled_endpoint_ids(scoped)
    link = ticket_link(public_url, ticket["id"])
    sent = 0
    if slack_url:
        # The Block Kit message is built by the worker from this snapshot (slack_message), off the
        # request path; "channel" is the routing rule's override.
        snapshot = {"ticket": ticket, "link": link, "channel": slack_channel, "detail": detail}
        enqueue(scoped, channel="slack", event=event, ticket_id=ticket["id"], payload=snapshot)
        sent += 1
    if endpoint_ids:
        body = {"event": event, "occurredAt": utcnow().isoformat(), "organizationId": scoped.org_id,
                "ticket": {**ticket, "link": link}}
        if detail:
            body["detail"] = detail
        for endpoint_id in endpoint_ids:
            enqueue(scoped, channel="webhook", event=event, ticket_id=ticket["id"], target=endpoint_id, payload=body)
            sent += 1
    return sent


def slack_message(event: str, snapshot: dict[str, Any]) -> dict[str, Any]:
    """The Slack message for an outbox snapshot written by ``publish``."""
    detail = snapshot.get("detail") or {}
    extra = None
    if event == CUSTOMER_REPLIED:
        extra = detail.get("content")
    elif event == STATUS_CHANGED:
        extra = f"{detail.get('from')} → {detail.get('to')}"
    return slack.build_message(event, snapshot["ticket"], link=snapshot.get("link"), channel=snapshot.get("channel"),
                               extra=extra)
