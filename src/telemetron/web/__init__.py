"""The agents' and admins' web app: server-rendered pages (Jinja2), a session cookie, no CDN.

Mounted by ``app.create_app`` with ``routes()``. One module per page area: ``signin`` (signing in
and out), ``tickets`` (the agents' pages), ``admin`` (the admins' pages); ``pages`` holds what they
share (sessions, CSRF, forms, error pages) and ``ticket_data`` the units of work of the ticket pages.
Static files (one stylesheet, one small script) are served from ``web/static`` at ``/static/web``.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles


def routes() -> list[BaseRoute]:
    from telemetron.mail import web_pages as mail_pages
    from telemetron.web import account, admin, admin_notifications, audit, signin, tickets, twofactor
    from telemetron.web.pages import STATIC

    get, post = ["GET"], ["POST"]
    return [
        Route("/", signin.home, methods=get),
        Route("/signin", signin.signin_form, methods=get),
        Route("/signin", signin.signin, methods=post),
        Route("/signout", signin.signout, methods=post),
        Route("/tickets", tickets.ticket_list, methods=get),
        Route("/tickets/{ticket_id}", tickets.ticket, methods=get),
        Route("/tickets/{ticket_id}/reply", tickets.ticket_reply, methods=post),
        Route("/tickets/{ticket_id}/update", tickets.ticket_update, methods=post),
        Route("/tickets/{ticket_id}/note", mail_pages.ticket_note, methods=post),
        Route("/tickets/{ticket_id}/attachments/{attachment_id}", mail_pages.attachment_download, methods=get),
        Route("/tickets/{ticket_id}/messages/{message_id}/original.eml", mail_pages.original_download, methods=get),
        Route("/admin", admin.admin_home, methods=get),
        Route("/admin/categories", admin.category_list, methods=get),
        Route("/admin/categories", admin.category_add, methods=post),
        Route("/admin/categories/{category_id}", admin.category_edit, methods=get),
        Route("/admin/categories/{category_id}", admin.category_save, methods=post),
        Route("/admin/members", admin.member_list, methods=get),
        Route("/admin/members", admin.member_add, methods=post),
        Route("/admin/members/{member_id}", admin.member_save, methods=post),
        Route("/admin/api-keys", admin.apikey_list, methods=get),
        Route("/admin/api-keys", admin.apikey_create, methods=post),
        Route("/admin/api-keys/{key_id}/revoke", admin.apikey_revoke, methods=post),
        Route("/admin/audit", audit.audit_log, methods=get),
        Route("/signin/code", twofactor.code_form, methods=get),
        Route("/signin/code", twofactor.code, methods=post),
        Route("/account/2fa", twofactor.setup_page, methods=get),
        Route("/account/2fa/setup", twofactor.setup, methods=post),
        Route("/account/2fa/enable", twofactor.enable, methods=post),
        Route("/account/2fa/disable", twofactor.disable, methods=post),
        Route("/admin/two-factor-required", twofactor.require, methods=post),
        Route("/account", account.account, methods=get),
        Route("/account/password", account.change_password, methods=post),
        Route("/admin/notifications", admin_notifications.notifications, methods=get),
        Route("/admin/notifications/slack", admin_notifications.slack_save, methods=post),
        Route("/admin/notifications/slack/remove", admin_notifications.slack_remove, methods=post),
        Route("/admin/notifications/webhooks/{endpoint_id}/rotate", admin_notifications.webhook_rotate, methods=post),
        Route("/admin/notifications/webhooks/{endpoint_id}/remove", admin_notifications.webhook_remove, methods=post),
        *workspace_routes(),
        *settings_routes(),
        Mount("/static/web", StaticFiles(directory=STATIC), name="web-static"),
    ]


def workspace_routes() -> list[BaseRoute]:
    """The agents' workspace: bulk actions, saved views, macros, customers, live updates, settings."""
    from telemetron.web import admin_macros, admin_routing, bulk, customer_pages, live, saved_views

    get, post = ["GET"], ["POST"]
    return [
        Route("/tickets/bulk", bulk.bulk_update, methods=post),
        Route("/views", saved_views.view_save, methods=post),
        Route("/views/{view_id}/delete", saved_views.view_delete, methods=post),
        Route("/customers/{customer_id}", customer_pages.customer, methods=get),
        Route("/live/tickets", live.live_list, methods=get),
        Route("/live/tickets/{ticket_id}", live.live_ticket, methods=get),
        Route("/admin/macros", admin_macros.macro_list, methods=get),
        Route("/admin/macros", admin_macros.macro_add, methods=post),
        Route("/admin/macros/{macro_id}", admin_macros.macro_edit, methods=get),
        Route("/admin/macros/{macro_id}", admin_macros.macro_save, methods=post),
        Route("/admin/macros/{macro_id}/delete", admin_macros.macro_delete, methods=post),
        Route("/admin/routing", admin_routing.rules_page, methods=get),
        Route("/admin/routing/rules", admin_routing.rule_add, methods=post),
        Route("/admin/routing/rules/{rule_id}", admin_routing.rule_edit, methods=get),
        Route("/admin/routing/rules/{rule_id}", admin_routing.rule_save, methods=post),
        Route("/admin/routing/rules/{rule_id}/move", admin_routing.rule_move, methods=post),
        Route("/admin/routing/rules/{rule_id}/enabled", admin_routing.rule_enable, methods=post),
        Route("/admin/routing/dry-run", admin_routing.dry_run, methods=post),
        Route("/admin/teams", admin_routing.teams_page, methods=get),
        Route("/admin/teams", admin_routing.team_add, methods=post),
        Route("/admin/teams/{team_id}", admin_routing.team_save, methods=post),
    ]


def settings_routes() -> list[BaseRoute]:
    """The admins' settings that have a CLI twin: Slack, webhooks and their deliveries, mailboxes."""
    from telemetron.mail import web_mailboxes
    from telemetron.web import admin_notifications, admin_webhooks

    get, post = ["GET"], ["POST"]
    hooks = "/admin/notifications/webhooks"
    return [
        Route("/admin/notifications/slack/test", admin_notifications.slack_test, methods=post),
        Route(hooks, admin_notifications.webhook_add, methods=post),
        Route(hooks + "/{endpoint_id}", admin_webhooks.webhook_page, methods=get),
        Route(hooks + "/{endpoint_id}/test", admin_webhooks.webhook_test, methods=post),
        Route(hooks + "/{endpoint_id}/deliveries/{delivery_id}/retry", admin_webhooks.delivery_retry, methods=post),
        Route("/admin/mailboxes", web_mailboxes.mailbox_list, methods=get),
        Route("/admin/mailboxes", web_mailboxes.mailbox_add, methods=post),
        Route("/admin/mailboxes/{mailbox_id}", web_mailboxes.mailbox_edit, methods=get),
        Route("/admin/mailboxes/{mailbox_id}", web_mailboxes.mailbox_save, methods=post),
        Route("/admin/mailboxes/{mailbox_id}/remove", web_mailboxes.mailbox_remove, methods=post),
    ]


async def not_found_page(request):
    """The web app's 404 page, for a browser that asked for an unknown path (app.py's 404 handler)."""
    from telemetron.web.pages import not_found_page as page

    return await page(request)
