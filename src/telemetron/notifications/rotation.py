"""Rotating and removing what lets notifications out: a webhook's signing secret, a webhook
endpoint, the Slack URL. The CLI (``webhook rotate|remove``, ``slack remove``) and the web app's
notifications page call these.

Rotation follows Stripe's "roll secret": the new secret signs at once; the old one stops at once
(the default, as GitHub does when a secret is changed) or keeps signing beside it for a stated
overlap of up to 7 days (Stripe lets one choose up to 7 days, Svix keeps 24 hours), each delivery
then carrying two ``v1`` signatures, the old one last. A receiver that still reads one ``v1`` with
the old secret keeps working; one updated to the new secret accepts either ``v1`` (the README's
``verify``). Rotating again during an overlap ends the older secret at once.

Removal takes effect at once: the endpoint (with its secret) or the Slack URL is deleted in the
same transaction that marks the messages still waiting for it failed, with the reason, so that
nothing is sent to it afterwards and ``outbox list`` says why. Events not yet fanned out fail
their delivery to it when a worker fans them out ("the webhook endpoint no longer exists", "no
Slack webhook URL is configured": ``outbox.worker``). A message a worker is sending at that very
moment finishes that attempt.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_

from telemetron import audit
from telemetron.db.engine import utcnow
from telemetron.db.scoped import Scoped, tenant_delete, tenant_update
from telemetron.db.tables import outbox, webhook_endpoints
from telemetron.errors import InvalidRequest
from telemetron.notifications import settings
from telemetron.notifications.webhooks import new_secret
from telemetron.orgs import config as org_config

MAX_OVERLAP_HOURS = 168
ENDPOINT_REMOVED = "the webhook endpoint was removed"
SLACK_REMOVED = "the Slack webhook URL was removed"
_we, _o = webhook_endpoints.c, outbox.c
_ROTATE = (
    tenant_update(webhook_endpoints)
    .where(_we.id == bindparam("endpoint_id"))
    .values(secret=bindparam("new_secret"), previous_secret=bindparam("old_secret"),
            previous_secret_expires_at=bindparam("old_until", type_=_we.previous_secret_expires_at.type))
)
_DELETE_ENDPOINT = tenant_delete(webhook_endpoints).where(_we.id == bindparam("endpoint_id"))
# Waiting messages, not those a worker is sending right now (its lease is running: it settles them).
_UNSENT = (
    tenant_update(outbox)
    .where(_o.status == "pending", _o.channel == bindparam("u_channel"),
           or_(_o.claimed_until.is_(None), _o.claimed_until < bindparam("u_now", type_=_o.claimed_until.type)))
    .values(status="failed", last_error=bindparam("u_reason"), claimed_by=None, claimed_until=None)
)


def previous_secret(endpoint: dict, now: datetime | None = None) -> str | None:
    """The replaced secret while its overlap runs, else None."""
    until = endpoint.get("previous_secret_expires_at")
    if endpoint.get("previous_secret") and until is not None and until > (now or utcnow()):
        return endpoint["previous_secret"]
    return None


def rotate_secret(scoped: Scoped, endpoint_id: str, *, overlap_hours: float = 0) -> dict:
    """A new signing secret for the endpoint; the old one signs for ``overlap_hours`` more (0: stops now)."""
    if not 0 <= overlap_hours <= MAX_OVERLAP_HOURS:
        raise InvalidRequest(f"The overlap is 0 to {MAX_OVERLAP_HOURS} hours (7 days)", field="overlap_hours",
                             code="invalid_overlap")
    endpoint = settings.get_endpoint(scoped, endpoint_id)  # 404 for another organization's
    now = utcnow()
    until = now + timedelta(hours=overlap_hours) if overlap_hours else None
    secret = new_secret()
    scoped.execute(_ROTATE, {"endpoint_id": endpoint_id, "new_secret": secret,
                             "old_secret": endpoint["secret"] if until else None, "old_until": until})
    audit.record_scoped(scoped, "webhook.secret_rotated", {"webhookId": endpoint_id, "overlapHours": overlap_hours})
    return {"id": endpoint_id, "url": endpoint["url"], "secret": secret, "previousSecretExpiresAt": until}


def remove_endpoint(scoped: Scoped, endpoint_id: str) -> int:
    """Delete the endpoint; returns how many waiting deliveries to it were marked failed."""
    endpoint = settings.get_endpoint(scoped, endpoint_id)
    marked = scoped.execute(_UNSENT.where(_o.target == endpoint_id),
                            {"u_channel": "webhook", "u_now": utcnow(), "u_reason": ENDPOINT_REMOVED}).rowcount
    scoped.execute(_DELETE_ENDPOINT, {"endpoint_id": endpoint_id})
    audit.record_scoped(scoped, "webhook.removed", {"webhookId": endpoint_id, "url": settings.mask(endpoint["url"])})
    org_config.bump(scoped)
    return marked


def remove_slack(scoped: Scoped) -> int:
    """Forget the Slack URL; returns how many waiting Slack messages were marked failed."""
    settings.set_settings(scoped, slack_webhook_url=None)
    return scoped.execute(_UNSENT, {"u_channel": "slack", "u_now": utcnow(), "u_reason": SLACK_REMOVED}).rowcount
