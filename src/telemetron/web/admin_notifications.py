"""The admins' notifications page: Slack (URL, default channel, remove, send a test) and webhook
endpoints (add, rotate the signing secret, remove, send a test; an endpoint's recent deliveries
with a retry for a failed one: ``admin_webhooks``).

The same services as ``telemetron slack|webhook|outbox`` (``notifications.settings``,
``.rotation`` and ``.deliveries``), so the web app and the CLI write the same way and are audited
alike. Secrets (the Slack URL, a signing secret) are never put in a form's value, a URL or a
redirect: a new signing secret is shown in the response that created it, once. A form that fails
re-renders the page with the error and a 4xx.
"""

from __future__ import annotations

import asyncio
import time

from starlette.responses import Response

from telemetron.errors import AppError, InvalidRequest
from telemetron.notifications import deliveries, rotation
from telemetron.notifications import settings as notification_settings
from telemetron.web import once
from telemetron.web.pages import Web, page

admin_page = page(admin_only=True)
DONE = {
    "slack-saved": "Slack settings saved: notifications go there from now on.",
    "slack-removed": "Slack webhook removed: nothing more is sent to Slack.",
    "webhook-removed": "Webhook endpoint removed: nothing more is sent to it.",
}
OVERLAPS = [(0, "at once"), (24, "after 24 hours"), (168, "after 7 days")]
# How long "Send a test" waits for a worker to send it and hear the answer (it runs every poll).
TEST_WAIT_SECONDS = 10.0


def _page_data(scoped, member) -> dict:
    slack, public_url = notification_settings.get_settings(scoped)
    _, channel = notification_settings.get_slack(scoped)
    return {"slack": notification_settings.mask(slack), "slack_channel": channel, "public_url": public_url,
            "endpoints": notification_settings.list_endpoints(scoped)}


async def show(web: Web, status: int = 200, error: str | None = None, done: str | None = None, **shown) -> Response:
    """The page; ``shown``: what this response alone shows (a new secret, a test's result)."""
    data = await web.run(_page_data)
    if done is None and status == 200 and not shown:
        done = DONE.get(web.request.query_params.get("done", ""))
    return web.render("admin/notifications.html", status=status, error=error, done=done, overlaps=OVERLAPS,
                      once=once.new_value(), **{"rotated": None, "added": None, "test": None, **shown}, **data)


@admin_page
async def notifications(web: Web) -> Response:
    return await show(web)


def _save_slack(scoped, member, *, url: str, channel: str) -> None:
    current, _ = notification_settings.get_slack(scoped)
    if not url and not current:
        raise InvalidRequest("Enter the Slack incoming webhook URL", field="webhook_url", code="missing_field")
    changes = {"slack_channel": channel or None}
    if url:  # empty: keep the URL saved before (it is never shown, so never sent back)
        changes["slack_webhook_url"] = url
    notification_settings.set_settings(scoped, **changes)


@admin_page
async def slack_save(web: Web) -> Response:
    url, channel = web.form.get("webhook_url").strip(), web.form.get("channel").strip()
    try:
        await web.run(_save_slack, url=url, channel=channel)
    except AppError as exc:
        return await show(web, exc.status, exc.message)
    return web.redirect("/admin/notifications?done=slack-saved")


@admin_page
async def slack_remove(web: Web) -> Response:
    await web.run(lambda scoped, member: rotation.remove_slack(scoped))
    return web.redirect("/admin/notifications?done=slack-removed")


async def send_and_wait(web: Web, send) -> deliveries.Delivery:
    """Queue a test through the outbox (``send(scoped)`` gives its id), then wait for a worker to
    send it and record the answer, up to ``TEST_WAIT_SECONDS`` (off the event loop's thread: the
    wait is a sleep between short reads)."""
    message_id = await web.run(lambda scoped, member: send(scoped))
    deadline = time.monotonic() + TEST_WAIT_SECONDS
    while True:
        found = await web.run(lambda scoped, member: deliveries.outcome(scoped, message_id))
        if found.settled or time.monotonic() >= deadline:
            return found
        await asyncio.sleep(0.2)


def outcome_text(found: deliveries.Delivery, *, who: str) -> dict:
    """What a test's outcome tells the admin: ``ok`` and a sentence with the receiver's answer."""
    if found.status == "delivered":
        return {"ok": True, "text": f"Test delivered: {who} answered {found.status_code}."}
    if found.status == "failed":
        return {"ok": False, "text": f"The test failed: {found.last_error}. It will not be retried."}
    if found.last_attempt_at is not None:
        return {"ok": False, "text": f"The test did not go through: {found.last_error}. It is retried "
                                     f"automatically (attempt {found.attempts} so far)."}
    return {"ok": False, "text": "The test is queued, but no worker has sent it yet: is the server's worker or "
                                 "`telemetron worker` running? It will be sent when one is."}


@admin_page
async def slack_test(web: Web) -> Response:
    try:
        found = await send_and_wait(web, deliveries.send_slack_test)
    except AppError as exc:
        return await show(web, exc.status, exc.message)
    return await show(web, test=outcome_text(found, who="Slack"))


@admin_page
async def webhook_add(web: Web) -> Response:
    url = web.form.get("url").strip()

    def add(scoped, member):
        if not once.first_sending(scoped, web.form.get("once"), what="webhook"):
            return None
        return notification_settings.add_endpoint(scoped, url=url)

    try:
        if not url:
            raise InvalidRequest("Enter the URL to send ticket events to", field="url", code="missing_field")
        added = await web.run(add)
    except AppError as exc:
        return await show(web, exc.status, exc.message)
    if added is None:
        return await show(web, done="This form was sent before: its endpoint was added then and its secret shown "
                                    "once (it is in the list below). Nothing new was added.")
    return await show(web, 201, added=added)  # the secret in this response only


@admin_page
async def webhook_rotate(web: Web) -> Response:
    endpoint_id = web.request.path_params["endpoint_id"]
    try:
        hours = float(web.form.get("overlap_hours", "0") or 0)
    except ValueError:
        hours = -1.0  # refused below with the service's message
    try:
        rotated = await web.run(lambda scoped, member: rotation.rotate_secret(scoped, endpoint_id, overlap_hours=hours))
    except AppError as exc:
        if exc.status == 404:
            raise
        return await show(web, exc.status, exc.message)
    return await show(web, rotated=rotated)  # the secret in this response only


@admin_page
async def webhook_remove(web: Web) -> Response:
    endpoint_id = web.request.path_params["endpoint_id"]
    await web.run(lambda scoped, member: rotation.remove_endpoint(scoped, endpoint_id))
    return web.redirect("/admin/notifications?done=webhook-removed")
