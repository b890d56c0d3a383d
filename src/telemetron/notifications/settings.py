"""Where an organization's notifications go: its Slack incoming webhook and its webhook endpoints."""

from __future__ import annotations

from types import EllipsisType
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import bindparam

from telemetron import audit, ids
from telemetron.clock import utcnow
from telemetron.db.prepared import Prepared
from telemetron.db.scoped import Scoped, tenant_insert, tenant_select, tenant_update, tenant_upsert_ignore
from telemetron.db.tables import notification_settings, webhook_endpoints
from telemetron.errors import InvalidRequest, NotFound
from telemetron.notifications.slack import check_channel
from telemetron.notifications.webhooks import new_secret
from telemetron.orgs.config_version import bump as bump_config_version

_ns = notification_settings.c
_we = webhook_endpoints.c
_SETTINGS = Prepared(tenant_select(notification_settings, _ns.slack_webhook_url, _ns.public_url))
_SLACK = tenant_select(notification_settings, _ns.slack_webhook_url, _ns.slack_channel)
_ENSURE = tenant_upsert_ignore(notification_settings, "organization_id")
_UPDATE = tenant_update(notification_settings)
_ENABLED_ENDPOINTS = Prepared(tenant_select(webhook_endpoints, _we.id).where(_we.enabled.is_(True)).order_by(_we.created_at))
_ENDPOINT = tenant_select(webhook_endpoints).where(_we.id == bindparam("endpoint_id"))
_ALL_ENDPOINTS = tenant_select(webhook_endpoints).order_by(_we.created_at)
_INSERT_ENDPOINT = tenant_insert(webhook_endpoints)


def check_url(url: str, *, what: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidRequest(f"{what} must be an http(s) URL", field="url", code="invalid_url")
    return url


def mask(url: str | None) -> str | None:
    """A webhook URL is a credential: show its host and last characters only."""
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…{url[-4:]}"


def get_settings(scoped: Scoped) -> tuple[str | None, str | None]:
    """(Slack webhook URL, public URL of the web app)."""
    row = scoped.execute_prepared(_SETTINGS).fetchone()
    return (row[0], row[1]) if row else (None, None)


def get_slack(scoped: Scoped) -> tuple[str | None, str | None]:
    """(Slack webhook URL, default channel): what a Slack delivery needs, read when it is sent."""
    row = scoped.execute(_SLACK).fetchone()
    return (row[0], row[1]) if row else (None, None)


def set_settings(scoped: Scoped, *, slack_webhook_url: str | None | EllipsisType = ...,
                 public_url: str | None | EllipsisType = ...,
                 slack_channel: str | None | EllipsisType = ...) -> None:
    """Change what is given (``None`` or ``""`` clears it); one audit event says what changed,
    the URL only as set or removed (it is a secret)."""
    scoped.execute(_ENSURE, {"slack_webhook_url": None, "public_url": None, "updated_at": utcnow()})
    values: dict[str, Any] = {"updated_at": utcnow()}
    if not isinstance(slack_webhook_url, EllipsisType):
        values["slack_webhook_url"] = check_url(slack_webhook_url, what="The Slack webhook URL") if slack_webhook_url else None
    if not isinstance(public_url, EllipsisType):
        values["public_url"] = check_url(public_url, what="The public URL").rstrip("/") if public_url else None
    if not isinstance(slack_channel, EllipsisType):
        values["slack_channel"] = check_channel(slack_channel, field="channel") if slack_channel else None
    scoped.execute(_UPDATE.values(**{k: bindparam(f"v_{k}") for k in values}), {f"v_{k}": v for k, v in values.items()})
    bump_config_version(scoped)
    changed = {}
    if "slack_webhook_url" in values:  # a secret: only whether it is set
        changed["slack"] = "set" if values["slack_webhook_url"] else "removed"
    if "public_url" in values:
        changed["publicUrl"] = values["public_url"]
    if "slack_channel" in values:
        changed["slackChannel"] = values["slack_channel"]
    audit.record_scoped(scoped, "notifications.settings_changed", changed)


def add_endpoint(scoped: Scoped, *, url: str) -> dict:
    row: dict[str, Any] = {"id": ids.prefixed("whk"), "url": check_url(url, what="The webhook URL"), "secret": new_secret(),
           "enabled": True, "created_at": utcnow()}
    scoped.execute(_INSERT_ENDPOINT, row)
    bump_config_version(scoped)
    audit.record_scoped(scoped, "webhook.added", {"webhookId": row["id"], "url": mask(row["url"])})
    return row


def enabled_endpoint_ids(scoped: Scoped) -> list[str]:
    return [r[0] for r in scoped.execute_prepared(_ENABLED_ENDPOINTS).fetchall()]


def get_endpoint(scoped: Scoped, endpoint_id: str) -> dict:
    row = scoped.execute(_ENDPOINT, {"endpoint_id": endpoint_id}).mappings().first()
    if row is None:
        raise NotFound(f"No webhook endpoint {endpoint_id} in this organization", code="webhook_not_found")
    return dict(row)


def list_endpoints(scoped: Scoped) -> list[dict]:
    return [dict(r) for r in scoped.execute(_ALL_ENDPOINTS).mappings()]
