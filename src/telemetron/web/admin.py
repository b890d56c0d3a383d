"""The admins' pages: categories, members and API keys (notifications: ``admin_notifications``;
routing and teams: ``admin_routing``; macros: ``admin_macros``).

Each calls the service the CLI calls (``categories``, ``members``, ``orgs.apikeys``).
A form that fails re-renders its page with the error and a 4xx.
Agents get a 403 page (``page(admin_only=True)``).
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from starlette.responses import Response

from telemetron.categories import service as categories
from telemetron.errors import AppError
from telemetron.idempotency import service as idempotency
from telemetron.members import auth, twofactor
from telemetron.members import service as members
from telemetron.orgs import apikeys
from telemetron.web.pages import Web, page

admin_page = page(admin_only=True)
DONE = {
    "category-added": "Category added.",
    "category-saved": "Category saved.",
    "member-added": "Member added.",
    "member-saved": "Member saved.",
    "password-set": "Password set; the member was signed out everywhere and signs in with the new one.",
    "key-revoked": "API key revoked: it stopped working at once.",
    "required-on": "Two-factor sign-in is now required: members without it set it up at their next sign-in.",
    "required-off": "Two-factor sign-in is no longer required.",
}


def _done(web: Web) -> str | None:
    return DONE.get(web.request.query_params.get("done", ""))


def _flag(web: Web, name: str) -> bool:
    return web.form.get(name) == "on"


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


# --- categories -----------------------------------------------------------------------------------


async def _category_list(web: Web, status: int = 200, error: str | None = None, values: dict | None = None) -> Response:
    cats = await web.run(lambda scoped, member: categories.list_categories(scoped))
    return web.render("admin/categories.html", status=status, categories=cats, error=error, values=values or {},
                      done=_done(web) if status == 200 else None)


@admin_page
async def category_add(web: Web) -> Response:
    form = web.form
    values: dict[str, Any] = {"name": form.get("name"), "description": form.get("description"), "examples": form.get("examples"),
              "ai": _flag(web, "ai_enabled"), "auto_resolve": _flag(web, "auto_resolve")}
    try:
        await web.run(lambda scoped, member: categories.add_category(
            scoped, name=values["name"], description=values["description"], examples=_lines(values["examples"]),
            ai_enabled=values["ai"], auto_resolve=values["auto_resolve"], active=True))
    except AppError as exc:
        return await _category_list(web, exc.status, exc.message, values)
    return web.redirect("/admin/categories?done=category-added")


async def _category_edit(web: Web, status: int = 200, error: str | None = None, typed: dict | None = None) -> Response:
    cat = await web.run(lambda scoped, member: categories.get_category(scoped, web.request.path_params["category_id"]))
    cat.update(typed or {})  # after an error, the form shows what the admin typed
    return web.render("admin/category.html", status=status, category=cat, error=error,
                      done=_done(web) if status == 200 else None)


@admin_page
async def category_save(web: Web) -> Response:
    category_id = web.request.path_params["category_id"]
    typed: dict[str, Any] = {"description": web.form.get("description"), "examples": _lines(web.form.get("examples")),
             "active": _flag(web, "active"), "ai_enabled": _flag(web, "ai_enabled"),
             "auto_resolve": _flag(web, "auto_resolve")}
    try:
        await web.run(lambda scoped, member: categories.update_category(scoped, category_id, **typed))
    except AppError as exc:
        if exc.status == 404:
            raise
        return await _category_edit(web, exc.status, exc.message, typed)
    return web.redirect(f"/admin/categories/{category_id}?done=category-saved")


# --- members --------------------------------------------------------------------------------------


async def _member_list(web: Web, status: int = 200, error: str | None = None, values: dict | None = None) -> Response:
    people, two_factor, required = await web.run(lambda scoped, member: (
        members.list_members(scoped), twofactor.enabled_member_ids(scoped), twofactor.required(scoped.conn, scoped.org_id)))
    return web.render("admin/members.html", status=status, members=people, roles=auth.ROLES, error=error,
                      values=values or {}, done=_done(web) if status == 200 else None, two_factor=two_factor,
                      required_2fa=required)


async def _hash(password: str, *user_inputs: str) -> str:
    return await asyncio.to_thread(auth.checked_hash, password, user_inputs)  # slow: not in a unit of work


@admin_page
async def member_add(web: Web) -> Response:
    form = web.form
    values = {"email": form.get("email"), "name": form.get("name"), "role": form.get("role", "agent")}
    try:
        password_hash = await _hash(form.get("password"), values["email"], values["name"]) if form.get("password") else None
        await web.run(lambda scoped, member: members.add_member(
            scoped, email=values["email"], name=values["name"], role=values["role"], password_hash=password_hash))
    except AppError as exc:
        return await _member_list(web, exc.status, exc.message, values)
    return web.redirect("/admin/members?done=member-added")


@admin_page
async def member_save(web: Web) -> Response:
    member_id = web.request.path_params["member_id"]
    form = web.form

    def save(scoped, member) -> str:
        if form.has("role"):
            members.set_role(scoped, member_id, form.get("role"), acting_member_id=member.member_id)
        if form.has("available"):
            members.set_available(scoped, member_id, form.get("available") == "yes")
        return "member-saved"

    try:
        if form.get("password"):
            target = await web.run(lambda scoped, member: members.get_member(scoped, member_id))
            password_hash = await _hash(form.get("password"), target["email"], target["name"])
            await web.run(lambda scoped, member: members.set_password_hash(scoped, member_id, password_hash))
            done = "password-set"
        else:
            done = await web.run(save)
    except AppError as exc:
        if exc.status == 404:
            raise
        return await _member_list(web, exc.status, exc.message)
    if done == "password-set" and web.member and web.member.member_id == member_id:
        return web.redirect("/signin")  # one's own new password signs one out too
    return web.redirect(f"/admin/members?done={done}")


# --- API keys -------------------------------------------------------------------------------------


async def _apikey_list(web: Web, status: int = 200, error: str | None = None, new_key: Any = None,
                       done: str | None = None) -> Response:
    keys = await web.run(lambda scoped, member: apikeys.list_api_keys(scoped))
    return web.render("admin/apikeys.html", status=status, keys=keys, error=error, new_key=new_key,
                      once=secrets.token_urlsafe(16),
                      done=done or (_done(web) if status == 200 and new_key is None else None))


def _create_key_once(scoped, member, name: str, once: str):
    """The new key, or None when this sending of the form (``once``) already created one: the
    form's one-time value is claimed like an Idempotency-Key, in the key's own transaction."""
    if once:
        sent_before = idempotency.claim(scoped, key=f"web:apikey:{once}", endpoint="web/api-keys",
                                        request_hash="form")  # whatever name it carries now
        if sent_before is not None:
            return None
    return apikeys.create_api_key(scoped.conn, org_id=scoped.org_id, name=name, actor=scoped.actor)


@admin_page
async def apikey_create(web: Web) -> Response:
    name = web.form.get("name")
    try:
        key = await web.run(_create_key_once, name, web.form.get("once")[:64])
    except AppError as exc:
        return await _apikey_list(web, exc.status, exc.message)
    if key is None:
        return await _apikey_list(web, done="This form was sent before: its key was created then and shown once "
                                            "(it is in the list below). Nothing new was created; to create "
                                            "another key, use the form below.")
    # Shown in this response only (no redirect: the key must not land in a URL or be shown again).
    return await _apikey_list(web, 201, None, key)


@admin_page
async def apikey_revoke(web: Web) -> Response:
    key_id = web.request.path_params["key_id"]
    await web.run(lambda scoped, member: apikeys.revoke_api_key(scoped, key_id))
    return web.redirect("/admin/api-keys?done=key-revoked")


@admin_page
async def admin_home(web: Web) -> Response:
    await web.run(lambda scoped, member: None)  # signed in and an admin, or the matching page
    return web.redirect("/admin/categories")


category_list = admin_page(_category_list)
category_edit = admin_page(_category_edit)
member_list = admin_page(_member_list)
apikey_list = admin_page(_apikey_list)
