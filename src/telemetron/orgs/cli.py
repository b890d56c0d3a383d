"""``telemetron org ...`` and ``telemetron apikey ...``: organizations and their API keys."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from telemetron.cli_support import JsonOption, OrgOption, echo_json, echo_result, read, run, scoped_read, scoped_run
from telemetron.db.scoped import Scoped
from telemetron.ratelimit.cli import rate_limit_app

org_app = typer.Typer(help="Organizations.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys of an organization.", no_args_is_help=True)


@org_app.command("create")
def org_create(
    name: Annotated[str, typer.Argument(help="The organization's name.")],
    category: Annotated[Optional[list[str]], typer.Option("--category", help="A ticket category (repeatable).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Create an organization with a first API key (printed once) and optional categories."""
    from telemetron.audit import Actor
    from telemetron.categories.service import add_category
    from telemetron.orgs.apikeys import create_api_key
    from telemetron.orgs.service import create_organization

    def unit(conn, db):
        org = create_organization(conn, name=name)
        scoped = Scoped(db, conn, org["id"], Actor.cli())
        key = create_api_key(conn, org_id=org["id"], name="default", actor=scoped.actor)
        cats = [add_category(scoped, name=c)["name"] for c in category or []]
        return org, key, cats

    org, key, cats = run(unit)
    if as_json:
        echo_json({"organizationId": org["id"], "name": org["name"], "apiKey": key.key, "apiKeyId": key.id,
                   "categories": cats})
        return
    typer.echo(f"organization: {org['id']} ({org['name']})")
    typer.echo(f"api key:      {key.key}   (shown once: store it now)")
    if cats:
        typer.echo(f"categories:   {', '.join(cats)}")


@org_app.command("list")
def org_list(as_json: JsonOption = False) -> None:
    """List organizations."""
    from telemetron.orgs.service import list_organizations

    orgs = read(lambda conn, db: list_organizations(conn))
    if as_json:
        echo_json([{"id": o["id"], "name": o["name"]} for o in orgs])
        return
    for o in orgs:
        typer.echo(f"{o['id']}  {o['name']}")


# ``org rate-limit``: the ratelimit domain's command, on the org group.
org_app.add_typer(rate_limit_app)


@apikey_app.command("create")
def apikey_create(org: OrgOption, name: Annotated[str, typer.Option(help="What the key is for.")] = "default",
                  as_json: JsonOption = False) -> None:
    """Create an API key (printed once)."""
    from telemetron.orgs.apikeys import create_api_key

    key = scoped_run(org, lambda scoped: create_api_key(scoped.conn, org_id=scoped.org_id, name=name,
                                                        actor=scoped.actor))
    echo_result(as_json, {"id": key.id, "name": key.name, "apiKey": key.key},
                f"{key.id}  {key.key}   (shown once: store it now)")


def _key_row(k: dict) -> dict:
    """An API key as listed: never the key itself, only its first characters."""
    def when(at):
        return at.isoformat() if at else None

    return {"id": k["id"], "name": k["name"], "prefix": k["prefix"], "createdAt": k["created_at"].isoformat(),
            "lastUsedAt": when(k["last_used_at"]), "revokedAt": when(k["revoked_at"])}


@apikey_app.command("list")
def apikey_list(org: OrgOption, as_json: JsonOption = False) -> None:
    """List API keys (never the keys themselves, only their first characters)."""
    from telemetron.orgs.apikeys import list_api_keys

    rows = [_key_row(k) for k in scoped_read(org, list_api_keys)]
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        state = f"revoked {r['revokedAt']}" if r["revokedAt"] else f"last used {r['lastUsedAt'] or 'never'}"
        typer.echo(f"{r['id']}  {r['prefix']}…  {r['name']}  {state}")


@apikey_app.command("revoke")
def apikey_revoke(org: OrgOption, key_id: Annotated[str, typer.Argument(help="The key's id (key_...).")]) -> None:
    """Revoke a key: it stops working at once."""
    from telemetron.orgs.apikeys import revoke_api_key

    scoped_run(org, revoke_api_key, key_id)
    typer.echo(f"revoked {key_id}")
