"""A webhook endpoint's page: its recent deliveries (when, event, the endpoint's answer or the
error, attempts), a retry for a failed one, and "Send a test", through ``notifications.deliveries``
(as ``telemetron webhook test`` and ``telemetron outbox retry`` do)."""

from __future__ import annotations

from starlette.responses import Response

from telemetron.errors import AppError
from telemetron.notifications import deliveries
from telemetron.notifications import settings as notification_settings
from telemetron.web.admin_notifications import outcome_text, send_and_wait
from telemetron.web.pages import Web, page

admin_page = page(admin_only=True)
DONE = {"retried": "The delivery is queued again: a worker sends it within moments."}


def _endpoint_data(scoped, member, endpoint_id: str) -> dict:
    endpoint = notification_settings.get_endpoint(scoped, endpoint_id)  # 404 for another organization's
    return {"endpoint": {k: endpoint[k] for k in ("id", "url", "enabled", "created_at")},
            "deliveries": deliveries.recent_deliveries(scoped, endpoint_id)}


async def _show(web: Web, status: int = 200, error: str | None = None, test: dict | None = None) -> Response:
    data = await web.run(_endpoint_data, web.request.path_params["endpoint_id"])
    done = DONE.get(web.request.query_params.get("done", "")) if status == 200 and test is None else None
    return web.render("admin/webhook.html", status=status, error=error, done=done, test=test, **data)


@admin_page
async def webhook_page(web: Web) -> Response:
    return await _show(web)


@admin_page
async def webhook_test(web: Web) -> Response:
    endpoint_id = web.request.path_params["endpoint_id"]
    found = await send_and_wait(web, lambda scoped: deliveries.send_webhook_test(scoped, endpoint_id))
    return await _show(web, test=outcome_text(found, who="the endpoint"))


@admin_page
async def delivery_retry(web: Web) -> Response:
    endpoint_id = web.request.path_params["endpoint_id"]
    raw = web.request.path_params["delivery_id"]
    message_id = int(raw) if raw.isdigit() and len(raw) < 10 else -1
    try:
        await web.run(lambda scoped, member: deliveries.retry(scoped, message_id, endpoint_id=endpoint_id))
    except AppError as exc:
        if exc.status == 404:
            raise
        return await _show(web, exc.status, exc.message)
    return web.redirect(f"/admin/notifications/webhooks/{endpoint_id}?done=retried")
