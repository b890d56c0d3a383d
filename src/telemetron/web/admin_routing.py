"""The admins' routing settings: rules (add, edit, reorder, disable or enable, and a dry run on a
sample ticket) and teams (add, members, strategy), through ``routing.service`` and
``api.create_ticket.dry_run``, the functions ``telemetron rules`` and ``telemetron team`` call."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from telemetron.categories import service as categories
from telemetron.enums import PRIORITIES
from telemetron.errors import AppError
from telemetron.members import service as members
from telemetron.routing import service as routing
from telemetron.routing.rules import CONDITION_LABELS, CONDITIONS
from telemetron.web.pages import Form, Web, page

admin_page = page(admin_only=True)
DONE = {"rule-added": "Rule added.", "rule-saved": "Rule saved.", "rule-moved": "Rule moved.",
        "rule-disabled": "Rule disabled: tickets it routed still say why.", "rule-enabled": "Rule enabled.",
        "team-added": "Team added.", "team-saved": "Team saved."}
CONDITION_HINTS = {"ticketCategory": "Connectivity, Billing", "customerCategory": "VIP",
                   "deviceCategory": "Hubs", "priority": "high, urgent", "emailDomain": "acme.com",
                   "keywords": "wifi, refund"}


def _commas(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def rule_from_form(form: Form) -> dict[str, Any]:
    conditions = {key: _commas(form.get(f"cond_{key}")) for key in CONDITIONS if _commas(form.get(f"cond_{key}"))}
    actions: dict[str, Any] = {key: form.get(key).strip() for key in ("assignMember", "assignTeam", "setPriority",
                                                                      "slackChannel") if form.get(key).strip()}
    if _commas(form.get("addTags")):
        actions["addTags"] = _commas(form.get("addTags"))
    return {"name": form.get("name"), "conditions": conditions, "actions": actions,
            "continue_matching": form.get("continue_matching") == "on"}


def _settings(scoped, member) -> dict:
    teams = routing.list_teams(scoped)
    return {"rules": routing.list_rules(scoped), "teams": teams, "members": members.list_members(scoped),
            "categories": categories.list_categories(scoped),
            "people": {m["id"]: m["name"] for m in members.list_members(scoped)},
            "team_names": {t["id"]: t["name"] for t in teams},
            "team_members": {t["id"]: routing.team_member_ids(scoped, t["id"]) for t in teams}}


async def _render(web: Web, template: str, *, status: int = 200, error: str | None = None, **extra) -> Response:
    data = await web.run(_settings)
    done = DONE.get(web.request.query_params.get("done", "")) if status == 200 else None
    return web.render(template, status=status, error=error, done=done, condition_labels=CONDITION_LABELS,
                      conditions=CONDITIONS, hints=CONDITION_HINTS, priorities=PRIORITIES,
                      strategies=routing.STRATEGIES, **data, **extra)


@admin_page
async def rules_page(web: Web) -> Response:
    return await _render(web, "admin/routing.html", rule=None, sample=None, dry=None)


@admin_page
async def rule_add(web: Web) -> Response:
    values = rule_from_form(web.form)
    try:
        await web.run(lambda scoped, member: routing.add_rule(scoped, **values))
    except AppError as exc:
        return await _render(web, "admin/routing.html", status=exc.status, error=exc.message, rule=values,
                             sample=None, dry=None)
    return web.redirect("/admin/routing?done=rule-added")


@admin_page
async def rule_edit(web: Web) -> Response:
    rule = await web.run(lambda scoped, member: routing.get_rule(scoped, web.request.path_params["rule_id"]))
    return await _render(web, "admin/rule.html", rule=rule)


@admin_page
async def rule_save(web: Web) -> Response:
    rule_id = web.request.path_params["rule_id"]
    values = rule_from_form(web.form)
    try:
        await web.run(lambda scoped, member: routing.update_rule(scoped, rule_id, **values))
    except AppError as exc:
        if exc.code == "rule_not_found":
            raise
        return await _render(web, "admin/rule.html", status=exc.status, error=exc.message,
                             rule={**values, "id": rule_id})
    return web.redirect("/admin/routing?done=rule-saved")


@admin_page
async def rule_move(web: Web) -> Response:
    steps = -1 if web.form.get("direction") == "up" else 1
    await web.run(lambda scoped, member: routing.move_rule(scoped, web.request.path_params["rule_id"], steps))
    return web.redirect("/admin/routing?done=rule-moved")


@admin_page
async def rule_enable(web: Web) -> Response:
    enabled = web.form.get("enabled") == "yes"
    await web.run(lambda scoped, member: routing.set_rule_enabled(scoped, web.request.path_params["rule_id"], enabled))
    return web.redirect(f"/admin/routing?done=rule-{'enabled' if enabled else 'disabled'}")


def sample_from_form(form: Form) -> dict[str, Any]:
    body = {k: form.get(k).strip() for k in ("title", "description", "customerEmail", "category", "priority")}
    return {k: v for k, v in body.items() if v}


@admin_page
async def dry_run(web: Web) -> Response:
    """What the rules would do with a sample ticket: the real creation, rolled back."""
    from telemetron.api.create_ticket import dry_run as run_dry

    sample = sample_from_form(web.form)
    try:
        result = await web.run(lambda scoped, member: run_dry(scoped, sample))
    except AppError as exc:
        return await _render(web, "admin/routing.html", status=exc.status, error=f"Dry run: {exc.message}",
                             rule=None, sample=sample, dry=None)
    return await _render(web, "admin/routing.html", rule=None, sample=sample, dry=result)


# --- teams ----------------------------------------------------------------------------------------


@admin_page
async def teams_page(web: Web) -> Response:
    return await _render(web, "admin/teams.html", typed=None)


@admin_page
async def team_add(web: Web) -> Response:
    name, strategy, member_ids = web.form.get("name"), web.form.get("strategy", "round_robin"), web.form.getlist("member")
    typed = {"name": name, "strategy": strategy, "member_ids": member_ids}
    try:
        await web.run(lambda scoped, member: routing.add_team(scoped, name=name, strategy=strategy,
                                                              member_ids=member_ids))
    except AppError as exc:
        return await _render(web, "admin/teams.html", status=exc.status, error=exc.message, typed=typed)
    return web.redirect("/admin/teams?done=team-added")


@admin_page
async def team_save(web: Web) -> Response:
    team_id = web.request.path_params["team_id"]
    try:
        await web.run(lambda scoped, member: routing.update_team(
            scoped, team_id, strategy=web.form.get("strategy"), member_ids=web.form.getlist("member")))
    except AppError as exc:
        if exc.code == "team_not_found":
            raise
        return await _render(web, "admin/teams.html", status=exc.status, error=exc.message, typed=None)
    return web.redirect("/admin/teams?done=team-saved")
