"""Test messages, a webhook endpoint's recent deliveries, and retrying a failed one.

"Send a test" goes through the outbox like every notification: the test is a delivery row (Slack,
or one endpoint's webhook) that a worker claims, signs, sends, retries and records exactly as it
does a ticket event, so a test that arrives proves what the real events will do. The web app and
``telemetron slack test`` / ``webhook test`` enqueue it, then read its outcome (``outcome``).

A webhook test carries the event ``webhook.test`` (header ``X-Telemetron-Event``), signed with the
endpoint's secret like any delivery; receivers should answer 2xx and otherwise ignore it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, text

from telemetron import audit
from telemetron.clock import utcnow
from telemetron.db.scoped import Scoped, tenant_insert, tenant_select
from telemetron.db.tables import organizations, outbox, outbox_attempts
from telemetron.errors import InvalidRequest, NotFound
from telemetron.notifications import settings, slack
from telemetron.outbox.repository import retry_failed

SLACK_TEST = "slack.test"
WEBHOOK_TEST = "webhook.test"
RECENT = 20
_o, _a = outbox.c, outbox_attempts.c
_INSERT = tenant_insert(outbox).returning(_o.id)
# Newest first through ix_outbox_webhook_deliveries, whose condition SQLite matches only
# against the same literal text.
_RECENT = (tenant_select(outbox).where(text("outbox.channel = 'webhook'"), _o.target == bindparam("endpoint_id"))
           .order_by(_o.id.desc()).limit(bindparam("limit")))
_ONE = tenant_select(outbox).where(_o.id == bindparam("message_id"))
_ATTEMPTS = (select(_a.message_id, _a.status_code, _a.error, _a.started_at)
             .where(_a.message_id.in_(bindparam("ids", expanding=True))).order_by(_a.id))
_ORG_NAME = select(organizations.c.name).where(organizations.c.id == bindparam("org"))


def _enqueue(scoped: Scoped, *, channel: str, event: str, target: str | None, payload: dict[str, Any]) -> int:
    now = utcnow()
    return scoped.execute(_INSERT, {
        "channel": channel, "event": event, "ticket_id": None, "target": target, "payload": payload,
        "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now,
        "claimed_by": None, "claimed_until": None, "last_error": None, "delivered_at": None,
    }).scalar_one()


def send_slack_test(scoped: Scoped) -> int:
    """Queue a test message to the organization's Slack webhook (its default channel, if set)."""
    url, channel = settings.get_slack(scoped)
    if not url:
        raise InvalidRequest("Save a Slack incoming webhook URL first, then send a test to it",
                             field="webhook_url", code="slack_not_configured")
    name = scoped.conn.execute(_ORG_NAME, {"org": scoped.org_id}).scalar() or scoped.org_id
    message_id = _enqueue(scoped, channel="slack", event=SLACK_TEST, target=None,
                          payload={"message": slack.trial_message(name, channel=channel)})
    audit.record_scoped(scoped, "slack.test_sent", {"messageId": message_id})
    return message_id


def send_webhook_test(scoped: Scoped, endpoint_id: str) -> int:
    """Queue a signed ``webhook.test`` delivery to one endpoint (404 for another organization's)."""
    endpoint = settings.get_endpoint(scoped, endpoint_id)
    body = {"event": WEBHOOK_TEST, "occurredAt": utcnow().isoformat(), "organizationId": scoped.org_id,
            "webhookId": endpoint["id"], "test": True}
    message_id = _enqueue(scoped, channel="webhook", event=WEBHOOK_TEST, target=endpoint["id"], payload=body)
    audit.record_scoped(scoped, "webhook.test_sent", {"webhookId": endpoint["id"], "messageId": message_id})
    return message_id


@dataclass(frozen=True, slots=True)
class Delivery:
    """One delivery as an admin reads it: its state and its last attempt's answer."""

    id: int
    event: str
    status: str  # pending | delivered | failed
    attempts: int
    created_at: Any
    delivered_at: Any
    next_attempt_at: Any
    last_error: str | None
    status_code: int | None  # the last attempt's HTTP status; None before any or on a network error
    last_attempt_at: Any

    @property
    def settled(self) -> bool:
        """Delivered, failed for good, or answered at least once (a retry is scheduled)."""
        return self.status != "pending" or self.last_attempt_at is not None


def _with_attempts(scoped: Scoped, rows: list[dict]) -> list[Delivery]:
    last: dict[int, tuple] = {}
    if rows:
        for message_id, code, _error, started in scoped.conn.execute(_ATTEMPTS, {"ids": [r["id"] for r in rows]}):
            last[message_id] = (code, started)
    return [Delivery(r["id"], r["event"], r["status"], r["attempts"], r["created_at"], r["delivered_at"],
                     r["next_attempt_at"], r["last_error"], *last.get(r["id"], (None, None))) for r in rows]


def recent_deliveries(scoped: Scoped, endpoint_id: str, *, limit: int = RECENT) -> list[Delivery]:
    """The endpoint's latest deliveries, newest first (delivered ones are purged after a while;
    failed ones stay until retried)."""
    rows = [dict(r) for r in scoped.execute(_RECENT, {"endpoint_id": endpoint_id, "limit": limit}).mappings()]
    return _with_attempts(scoped, rows)


def outcome(scoped: Scoped, message_id: int) -> Delivery:
    row = scoped.execute(_ONE, {"message_id": message_id}).mappings().first()
    if row is None:
        raise NotFound(f"No notification {message_id} in this organization", code="message_not_found")
    return _with_attempts(scoped, [dict(row)])[0]


def retry(scoped: Scoped, message_id: int, *, endpoint_id: str | None = None) -> None:
    """Send a failed delivery again, for another 24 hours of retries; ``endpoint_id``: it must be
    one of that endpoint's. The CLI's ``outbox retry`` and the notifications page call this."""
    if endpoint_id is not None:
        settings.get_endpoint(scoped, endpoint_id)  # 404 for another organization's
        row = scoped.execute(_ONE, {"message_id": message_id}).mappings().first()
        if row is None or row["channel"] != "webhook" or row["target"] != endpoint_id:
            raise NotFound(f"No delivery {message_id} to this webhook endpoint", code="message_not_found")
    if not retry_failed(scoped, message_id):
        raise InvalidRequest(f"Message {message_id} is not a failed message of this organization: only a failed "
                             "delivery can be retried", code="not_failed")
    audit.record_scoped(scoped, "outbox.retried", {"messageId": message_id})
