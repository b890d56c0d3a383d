"""The admins' mailbox pages: add, change and remove mailboxes through ``mail.mailboxes`` (the
functions ``telemetron mailbox add|update|remove`` call, audited alike).

The form asks for server, port, security, user and password rather than a URL with a password in
it, and builds the URL the CLI takes. Passwords are never echoed: not on the edit page (a blank
password keeps the stored one), not when a form is shown again after an error. The inbound secret
is shown in the response that made it, once.
"""

from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit

from starlette.responses import Response

from telemetron.errors import AppError, InvalidRequest
from telemetron.mail import mailboxes, secrets_box
from telemetron.web import once
from telemetron.web.pages import Form, Web, page

admin_page = page(admin_only=True)
SMTP_SECURITY = [("smtp+starttls", "STARTTLS (usually port 587)"), ("smtps", "TLS (usually port 465)"),
                 ("smtp", "None (port 25; local servers only)")]
IMAP_SECURITY = [("imaps", "TLS (usually port 993)"), ("imap", "None (port 143; local servers only)")]
DONE = {"saved": "Mailbox saved.", "removed": "Mailbox removed: its tickets stay, replies to them are no longer emailed."}
FIELDS = ("host", "port", "security", "user", "folder")


def typed(form: Form, kind: str) -> dict:
    """What the form says about one server (``smtp`` or ``imap``), without the password."""
    return {key: form.get(f"{kind}_{key}").strip() for key in FIELDS}


def fields_of(url: str | None) -> dict:
    """A stored URL as the form's fields, without its password."""
    if not url:
        return {}
    parts = urlsplit(url)
    return {"host": parts.hostname or "", "port": str(parts.port or ""), "security": parts.scheme,
            "user": unquote(parts.username or ""), "folder": unquote(parts.path.lstrip("/"))}


def compose(kind: str, fields: dict, password: str, schemes: list[tuple[str, str]]) -> str:
    """The URL the CLI would take, from the form's fields (each part quoted)."""
    what = "sending (SMTP)" if kind == "smtp" else "receiving (IMAP)"
    if not fields["host"] or any(c in fields["host"] for c in "/@:? "):
        raise InvalidRequest(f"Enter the {what} server's host name, e.g. mail.example.com", field=f"{kind}_host")
    if not fields["port"].isdigit() or not 0 < int(fields["port"]) < 65536:
        raise InvalidRequest(f"The {what} port is a number from 1 to 65535", field=f"{kind}_port")
    if fields["security"] not in dict(schemes):
        raise InvalidRequest(f"Choose the {what} security", field=f"{kind}_security")
    login = quote(fields["user"], safe="") + (":" + quote(password, safe="") if password else "") if fields["user"] else ""
    folder = "/" + quote(fields["folder"], safe="") if kind == "imap" and fields["folder"] else ""
    return f"{fields['security']}://{login + '@' if login else ''}{fields['host']}:{fields['port']}{folder}"


def _old_password(url: str | None) -> str:
    return unquote(urlsplit(url).password or "") if url else ""


def _changed_url(form: Form, kind: str, old_url: str | None, schemes) -> str | None:
    """The new URL, or None when the form leaves the server as it was (a blank password keeps the
    stored one; an unchanged IMAP URL must not restart polling from the first mail)."""
    fields = typed(form, kind)
    password = form.get(f"{kind}_password") or _old_password(old_url)
    url = compose(kind, fields, password, schemes)
    return None if url == old_url else url


def _add(scoped, member, form: Form) -> dict | None:
    if not once.first_sending(scoped, form.get("once"), what="mailbox"):
        return None
    smtp = compose("smtp", typed(form, "smtp"), form.get("smtp_password"), SMTP_SECURITY)
    imap = compose("imap", typed(form, "imap"), form.get("imap_password"), IMAP_SECURITY) \
        if form.get("imap_host").strip() else None
    return mailboxes.add_mailbox(scoped, address=form.get("address"), smtp_url=smtp, imap_url=imap)


def _save(scoped, member, mailbox_id: str, form: Form) -> dict:
    row = mailboxes.get_mailbox(scoped, mailbox_id)
    old_smtp, old_imap = _readable(row, "smtp_url"), _readable(row, "imap_url")
    stop_imap = not form.get("imap_host").strip()
    return mailboxes.update_mailbox(
        scoped, row["id"], smtp_url=_changed_url(form, "smtp", old_smtp, SMTP_SECURITY),
        imap_url=None if stop_imap else _changed_url(form, "imap", old_imap, IMAP_SECURITY),
        remove_imap=stop_imap and row["imap_url"] is not None, new_secret=form.has("new_secret"))


def _list(scoped, member) -> dict:
    return {"mailboxes": mailboxes.list_mailboxes(scoped)}


def _readable(row: dict, which: str) -> str | None:
    """The stored URL, or None when it cannot be decrypted (the key changed): the form is then
    empty and saving it sets the URL again."""
    try:
        return mailboxes.connection_url(row, which)
    except secrets_box.SecretUnreadable:
        return None


def _one(scoped, member, mailbox_id: str) -> dict:
    row = mailboxes.get_mailbox(scoped, mailbox_id)  # 404 for another organization's
    return {"mailbox": {"id": row["id"], "address": row["address"]},
            "smtp": fields_of(_readable(row, "smtp_url")), "imap": fields_of(_readable(row, "imap_url"))}


async def _show_list(web: Web, status: int = 200, error: str | None = None, **shown) -> Response:
    done = DONE.get(web.request.query_params.get("done", "")) if status == 200 and not shown else None
    typed_back = {"address": web.form.get("address"), "smtp": typed(web.form, "smtp"), "imap": typed(web.form, "imap")}
    return web.render("admin/mailboxes.html", status=status, error=error, done=done, once=once.new_value(),
                      smtp_security=SMTP_SECURITY, imap_security=IMAP_SECURITY, values=typed_back,
                      **{"added": None, **shown}, **await web.run(_list))


@admin_page
async def mailbox_list(web: Web) -> Response:
    """The organization's mailboxes (URLs without their passwords) and a form to add one."""
    return await _show_list(web)


@admin_page
async def mailbox_add(web: Web) -> Response:
    try:
        added = await web.run(_add, web.form)
    except AppError as exc:
        return await _show_list(web, exc.status, exc.message)
    if added is None:
        return await _show_list(web, done="This form was sent before: its mailbox was added then and its inbound "
                                          "secret shown once. Nothing new was added.")
    return await _show_list(web, 201, added=added)  # the inbound secret in this response only


async def _show_one(web: Web, status: int = 200, error: str | None = None, saved: dict | None = None) -> Response:
    data = await web.run(_one, web.request.path_params["mailbox_id"])
    if status != 200:  # show what was typed again, never a password
        data["smtp"], data["imap"] = typed(web.form, "smtp"), typed(web.form, "imap")
    return web.render("admin/mailbox.html", status=status, error=error, saved=saved,
                      smtp_security=SMTP_SECURITY, imap_security=IMAP_SECURITY, **data)


@admin_page
async def mailbox_edit(web: Web) -> Response:
    return await _show_one(web)


@admin_page
async def mailbox_save(web: Web) -> Response:
    mailbox_id = web.request.path_params["mailbox_id"]
    try:
        saved = await web.run(_save, mailbox_id, web.form)
    except AppError as exc:
        if exc.status == 404:
            raise
        return await _show_one(web, exc.status, exc.message)
    if "inboundSecret" in saved:
        return await _show_one(web, saved=saved)  # the new secret in this response only
    return web.redirect("/admin/mailboxes?done=saved")


@admin_page
async def mailbox_remove(web: Web) -> Response:
    mailbox_id = web.request.path_params["mailbox_id"]
    await web.run(lambda scoped, member: mailboxes.remove_mailbox(scoped, mailbox_id))
    return web.redirect("/admin/mailboxes?done=removed")
