"""The admins' notifications page: replace or remove the Slack URL, rotate a webhook's signing
secret (shown once, in the response: never in a URL or a redirect), remove an endpoint.

The same services as ``telemetron slack|webhook`` (``notifications.settings`` and
``notifications.rotation``). A form that fails re-renders the page with the error and a 4xx.
"""

from __future__ import annotations

from starlette.responses import Response

from telemetron.errors import AppError, InvalidRequest
from telemetron.notifications import rotation
from telemetron.notifications import settings as notification_settings
from telemetron.web.pages import Web, page

admin_page = page(admin_only=True)
DONE = {
    "slack-saved": "Slack webhook saved: notifications go to it from now on.",
    "slack-removed": "Slack webhook removed: nothing more is sent to Slack.",
    "webhook-removed": "Webhook endpoint removed: nothing more is sent to it.",
}
OVERLAPS = [(0, "at once"), (24, "after 24 hours"), (168, "after 7 days")]


def _page_data(scoped, member) -> dict:
    slack, public_url = notification_settings.get_settings(scoped)
    return {"slack": notification_settings.mask(slack), "public_url": public_url,
            "endpoints": notification_settings.list_endpoints(scoped)}


async def _show(web: Web, status: int = 200, error: str | None = None, rotated: dict | None = None) -> Response:
    data = await web.run(_page_data)
    done = DONE.get(web.request.query_params.get("done", "")) if status == 200 and rotated is None else None
    return web.render("admin/notifications.html", status=status, error=error, rotated=rotated, done=done,
                      overlaps=OVERLAPS, **data)


@admin_page
async def notifications(web: Web) -> Response:
    return await _show(web)


@admin_page
async def slack_save(web: Web) -> Response:
    url = web.form.get("webhook_url").strip()
    try:
        if not url:
            raise InvalidRequest("Enter the Slack incoming webhook URL (or remove it with the Remove button)",
                                 field="webhook_url", code="missing_field")
        await web.run(lambda scoped, member: notification_settings.set_settings(scoped, slack_webhook_url=url))
    except AppError as exc:
        return await _show(web, exc.status, exc.message)
    return web.redirect("/admin/notifications?done=slack-saved")


@admin_page
async def slack_remove(web: Web) -> Response:
    await web.run(lambda scoped, member: rotation.remove_slack(scoped))
    return web.redirect("/admin/notifications?done=slack-removed")


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
        return await _show(web, exc.status, exc.message)
    return await _show(web, rotated=rotated)  # the secret in this response only


@admin_page
async def webhook_remove(web: Web) -> Response:
    endpoint_id = web.request.path_params["endpoint_id"]
    await web.run(lambda scoped, member: rotation.remove_endpoint(scoped, endpoint_id))
    return web.redirect("/admin/notifications?done=webhook-removed")
