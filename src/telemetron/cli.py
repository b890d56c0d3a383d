"""The ``telemetron`` command: serve, migrate, and manage organizations, keys and categories.

Commands call the same services as the API, each in one transaction.
"""

from __future__ import annotations

import json
import shlex
from typing import Annotated, Optional

import typer

from telemetron.cli_support import JsonOption, OrgOption, fail, read, run, scoped_read, scoped_run
from telemetron.config import get_settings
from telemetron.db.scoped import Scoped
from telemetron.enums import MEMBER_ROLES

app = typer.Typer(help="Telemetron: self-hosted support ticketing.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
org_app = typer.Typer(help="Organizations.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys of an organization.", no_args_is_help=True)
category_app = typer.Typer(help="Ticket categories of an organization.", no_args_is_help=True)
member_app = typer.Typer(help="Team members (agents) of an organization: who tickets are assigned to.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(org_app, name="org")
app.add_typer(apikey_app, name="apikey")
app.add_typer(category_app, name="category")
app.add_typer(member_app, name="member")



# The helpers every command uses live in cli_support (shared with the domain command groups).
_run, _scoped_run, _fail = run, scoped_run, fail


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Server processes (PostgreSQL; SQLite wants 1).")] = 1,
) -> None:
    """Run the HTTP API."""
    import uvicorn

    from telemetron.db.engine import normalize_url
    from telemetron.db.migrate import schema_problem

    settings = get_settings()
    problem = schema_problem(settings.database_url)
    if problem:
        _fail(problem)
    if workers > 1 and normalize_url(settings.database_url).startswith("sqlite"):
        # Each process would block its event loop waiting for the one SQLite writer in turn.
        _fail("SQLite has one writer: run one server process (--workers 1), or use PostgreSQL for more")
    uvicorn.run(
        "telemetron.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level,
        access_log=False,
        loop="uvloop" if _has_uvloop() else "asyncio",
        http="httptools",
    )


def _has_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Create or migrate the database schema."""
    from telemetron.db.migrate import current_revision, upgrade

    url = get_settings().database_url
    before = current_revision(url)
    upgrade(url, revision)
    after = current_revision(url)
    if before is None:
        typer.echo(f"database created (schema revision {after})")
    elif before != after:
        typer.echo(f"database migrated from revision {before} to {after}")
    else:
        typer.echo(f"database is up to date (schema revision {after})")


@org_app.command("create")
def org_create(
    name: Annotated[str, typer.Argument(help="The organization's name.")],
    category: Annotated[Optional[list[str]], typer.Option("--category", help="A ticket category (repeatable).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Create an organization with a first API key (printed once) and optional categories."""
    from telemetron.categories.service import add_category
    from telemetron.orgs.apikeys import create_api_key
    from telemetron.orgs.service import create_organization

    def unit(conn, db):
        org = create_organization(conn, name=name)
        key = create_api_key(conn, org_id=org["id"], name="default")
        scoped = Scoped(db, conn, org["id"])
        cats = [add_category(scoped, name=c)["name"] for c in category or []]
        return org, key, cats

    org, key, cats = _run(unit)
    if as_json:
        typer.echo(json.dumps({"organizationId": org["id"], "name": org["name"], "apiKey": key.key, "apiKeyId": key.id, "categories": cats}))
    else:
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
        typer.echo(json.dumps([{"id": o["id"], "name": o["name"]} for o in orgs]))
    else:
        for o in orgs:
            typer.echo(f"{o['id']}  {o['name']}")


@apikey_app.command("create")
def apikey_create(org: OrgOption, name: Annotated[str, typer.Option(help="What the key is for.")] = "default", as_json: JsonOption = False) -> None:
    """Create an API key (printed once)."""
    from telemetron.orgs.apikeys import create_api_key

    key = _scoped_run(org, lambda scoped: create_api_key(scoped.conn, org_id=scoped.org_id, name=name))
    if as_json:
        typer.echo(json.dumps({"id": key.id, "name": key.name, "apiKey": key.key}))
    else:
        typer.echo(f"{key.id}  {key.key}   (shown once: store it now)")


@apikey_app.command("list")
def apikey_list(org: OrgOption, as_json: JsonOption = False) -> None:
    """List API keys (never the keys themselves, only their first characters)."""
    from telemetron.orgs.apikeys import list_api_keys

    keys = scoped_read(org, list_api_keys)
    rows = [
        {
            "id": k["id"],
            "name": k["name"],
            "prefix": k["prefix"],
            "createdAt": k["created_at"].isoformat(),
            "lastUsedAt": k["last_used_at"].isoformat() if k["last_used_at"] else None,
            "revokedAt": k["revoked_at"].isoformat() if k["revoked_at"] else None,
        }
        for k in keys
    ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for r in rows:
        state = f"revoked {r['revokedAt']}" if r["revokedAt"] else f"last used {r['lastUsedAt'] or 'never'}"
        typer.echo(f"{r['id']}  {r['prefix']}…  {r['name']}  {state}")


@apikey_app.command("revoke")
def apikey_revoke(org: OrgOption, key_id: Annotated[str, typer.Argument(help="The key's id (key_...).")]) -> None:
    """Revoke a key: it stops working at once."""
    from telemetron.orgs.apikeys import revoke_api_key

    _scoped_run(org, revoke_api_key, key_id)
    typer.echo(f"revoked {key_id}")


@category_app.command("add")
def category_add(
    org: OrgOption,
    name: Annotated[str, typer.Argument(help="Category name (unique ignoring case).")],
    description: Annotated[str, typer.Option(help="What belongs in it: the AI reads this.")] = "",
    ai: Annotated[bool, typer.Option("--ai/--no-ai", help="May the AI choose it.")] = True,
    auto_resolve: Annotated[bool, typer.Option("--auto-resolve", help="Resolve its new tickets at once, unrouted and unannounced (needs AI enabled).")] = False,
    inactive: Annotated[bool, typer.Option("--inactive", help="Create it inactive.")] = False,
    example: Annotated[Optional[list[str]], typer.Option("--example", help="A phrase a customer would write (repeatable).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Add a category. The AI learns it from its name, description and example phrases."""
    from telemetron.categories.service import add_category

    cat = _scoped_run(org, add_category, name=name, description=description, ai_enabled=ai, auto_resolve=auto_resolve,
                      active=not inactive, examples=example or [])
    if as_json:
        typer.echo(json.dumps({"id": cat["id"], "name": cat["name"]}))
    else:
        typer.echo(f"{cat['id']}  {cat['name']}")


@category_app.command("update")
def category_update(
    org: OrgOption,
    category: Annotated[str, typer.Argument(help="The category's id (cat_...) or name (any case).")],
    description: Annotated[Optional[str], typer.Option(help="A new description (the AI reads it).")] = None,
    example: Annotated[Optional[list[str]], typer.Option("--example", help="Replace the example phrases with these (repeatable).")] = None,
    clear_examples: Annotated[bool, typer.Option("--clear-examples", help="Remove every example phrase.")] = False,
    active: Annotated[Optional[bool], typer.Option("--active/--inactive", help="Inactive categories are never given to new tickets.")] = None,
    ai: Annotated[Optional[bool], typer.Option("--ai/--no-ai", help="May the AI choose it.")] = None,
    auto_resolve: Annotated[Optional[bool], typer.Option("--auto-resolve/--no-auto-resolve", help="Resolve its new tickets at once (needs AI enabled).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Change a category's description, example phrases or flags; what is not given stays.

    The name stays too: routing rules and API clients name categories, and a rename would
    silently change what they match. To retire a category, make it --inactive.
    """
    from telemetron.categories.service import find_category, update_category

    if example and clear_examples:
        _fail("give --example or --clear-examples, not both")

    def update(scoped):
        current = find_category(scoped, category)
        return update_category(
            scoped, current["id"],
            description=current["description"] if description is None else description,
            examples=[] if clear_examples else (example if example else current["examples"] or []),
            active=current["active"] if active is None else active,
            ai_enabled=current["ai_enabled"] if ai is None else ai,
            auto_resolve=current["auto_resolve"] if auto_resolve is None else auto_resolve,
        )

    cat = _scoped_run(org, update)
    row = {"id": cat["id"], "name": cat["name"], "description": cat["description"], "examples": cat["examples"],
           "active": cat["active"], "aiEnabled": cat["ai_enabled"], "autoResolve": cat["auto_resolve"]}
    if as_json:
        typer.echo(json.dumps(row))
    else:
        typer.echo(f"updated {cat['id']}  {cat['name']}")


@category_app.command("list")
def category_list(org: OrgOption, as_json: JsonOption = False) -> None:
    """List categories."""
    from telemetron.categories.service import list_categories

    cats = scoped_read(org, list_categories)
    rows = [
        {"id": c["id"], "name": c["name"], "description": c["description"], "active": c["active"], "aiEnabled": c["ai_enabled"], "autoResolve": c["auto_resolve"]}
        for c in cats
    ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for r in rows:
        flags = ",".join(f for f, on in (("active", r["active"]), ("ai", r["aiEnabled"]), ("auto-resolve", r["autoResolve"])) if on)
        typer.echo(f"{r['id']}  {r['name']}  [{flags}]  {r['description']}")


@member_app.command("add")
def member_add(
    org: OrgOption,
    email: Annotated[str, typer.Argument(help="The member's email (unique in the organization, ignoring case).")],
    name: Annotated[Optional[str], typer.Option(help="Display name (default: the part of the email before @).")] = None,
    role: Annotated[str, typer.Option(help=f"{' or '.join(MEMBER_ROLES)} (admins manage the organization in the web app).")] = "agent",
    password: Annotated[bool, typer.Option("--password", help="Prompt for a web app password.")] = False,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the web app password from standard input.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Add a team member; tickets can then be assigned to the id it prints (mem_...).

    With --password or --password-stdin the member can sign in to the web app at once; otherwise
    later, after `telemetron member password`."""
    from telemetron.errors import AppError
    from telemetron.members.cli import read_password
    from telemetron.members.service import add_member, check_role

    try:
        check_role(role)  # a bad role fails before the password is asked
    except AppError as exc:
        _fail(exc.message)
    password_hash = read_password(password_stdin) if (password or password_stdin) else None
    member = _scoped_run(org, add_member, email=email, name=name, role=role, password_hash=password_hash)
    if as_json:
        body = {"id": member["id"], "email": member["email"], "name": member["name"], "available": member["available"]}
        if member["role"] != "agent" or member["can_sign_in"]:
            body.update(role=member["role"], canSignIn=member["can_sign_in"])
        typer.echo(json.dumps(body))
    else:
        typer.echo(f"{member['id']}  {member['email']}  {member['name']}"
                   + (f"  [{member['role']}]" if member["role"] != "agent" else ""))


@member_app.command("list")
def member_list(org: OrgOption, as_json: JsonOption = False) -> None:
    """List team members, by email."""
    from telemetron.members.service import list_members

    rows = [
        {"id": m["id"], "email": m["email"], "name": m["name"], "available": m["available"], "role": m["role"],
         "canSignIn": m["can_sign_in"], "createdAt": m["created_at"].isoformat()}
        for m in scoped_read(org, list_members)
    ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for r in rows:
        typer.echo(f"{r['id']}  {r['email']}  {r['name']}" + ("" if r["available"] else "  [unavailable]")
                   + (f"  [{r['role']}]" if r["role"] != "agent" else ""))


DEMO_ORG = "Demo Company"
DEMO_CATEGORIES = {
    "Connectivity": "WiFi, Bluetooth, pairing, network and connection problems",
    "Battery": "Battery life, charging, power and overheating while charging",
    "Billing": "Invoices, payments, refunds, subscriptions and charges",
    "Hardware": "Broken, damaged or faulty devices, screens, buttons and sensors",
}


DEMO_ADMIN = "admin@example.com"
EXAMPLE_CUSTOMER_EMAIL, EXAMPLE_CUSTOMER_ID = "john.doe@example.com", "cust_a1b2c3d4e5f6"


@app.command()
def demo(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Create (once) a demo organization with categories and an admin; make a fresh API key and a
    fresh admin password; print a working curl and the web app's sign-in."""
    import secrets

    from sqlalchemy import select

    from telemetron.categories.service import add_category
    from telemetron.customers.service import get_or_create_by_email
    from telemetron.db.tables import customers
    from telemetron.members.auth import hash_password
    from telemetron.members.service import add_member, find_by_email, set_password_hash
    from telemetron.orgs.apikeys import create_api_key
    from telemetron.orgs.service import create_organization, find_organization_by_name

    password = secrets.token_urlsafe(12)
    password_hash = hash_password(password)  # slow: before the transaction

    def unit(conn, db):
        org = find_organization_by_name(conn, DEMO_ORG)
        scoped = Scoped(db, conn, org["id"]) if org else None
        if org is None:
            org = create_organization(conn, name=DEMO_ORG)
            scoped = Scoped(db, conn, org["id"])
            for cat_name, description in DEMO_CATEGORIES.items():
                add_category(scoped, name=cat_name, description=description)
        # The customer of the document's examples, under the id its customerId example uses, so
        # that every example works verbatim against the demo organization (once; unless that id
        # is someone else's in this database).
        if conn.execute(select(customers.c.id).where(customers.c.id == EXAMPLE_CUSTOMER_ID)).first() is None:
            get_or_create_by_email(scoped, EXAMPLE_CUSTOMER_EMAIL, new_id=EXAMPLE_CUSTOMER_ID)
        admin = find_by_email(scoped, DEMO_ADMIN)
        if admin is None:
            add_member(scoped, email=DEMO_ADMIN, name="Demo Admin", role="admin", password_hash=password_hash)
        else:
            set_password_hash(scoped, admin["id"], password_hash)
        return org, create_api_key(conn, org_id=org["id"], name="demo")

    org, key = _run(unit)
    body = json.dumps(
        {
            "title": "Device not connecting to WiFi",
            "description": "Customer reports their device fails to connect after firmware update v2.3.1",
            "priority": "high",
            "customerEmail": "john.doe@example.com",
            "category": "Connectivity",
        }
    )
    typer.echo(f"Demo organization {org['id']} ({org['name']}); a new API key: {key.key}")
    typer.echo(f"For the README's examples:  export ORG={org['id']} KEY={key.key}\n")
    typer.echo("Try it (in another terminal, once the server below is up):\n")
    typer.echo(
        f"curl -X POST http://{host}:{port}/api/ext-v1/ticket/createTicket \\\n"
        f"  -H {shlex.quote('x-api-key: ' + key.key)} \\\n"
        f"  -H 'Content-Type: application/json' \\\n"
        f"  -d {shlex.quote(body)}\n"
    )
    typer.echo(f"Web app: http://{host}:{port}/signin  as {DEMO_ADMIN} (admin), password {password}")
    typer.echo("         (a new password on every `telemetron demo`; `telemetron member password` sets your own)")
    typer.echo(f"API docs: http://{host}:{port}/docs\n")


def _mount_domain_commands() -> None:
    """Command groups that live with their domain (routing, notifications, outbox)."""
    from telemetron.members import cli as members_cli
    from telemetron.notifications.cli import slack_app, webhook_app
    from telemetron.outbox.cli import outbox_app, worker
    from telemetron.routing.cli import rules_app, team_app
    from telemetron.triage import admin_cli
    from telemetron.triage.cli import app as triage_app

    members_cli.register(member_app)

    admin_cli.register(triage_app)
    app.add_typer(triage_app, name="triage")

    app.add_typer(rules_app, name="rules")
    app.add_typer(team_app, name="team")
    app.add_typer(slack_app, name="slack")
    app.add_typer(webhook_app, name="webhook")
    app.add_typer(outbox_app, name="outbox")
    app.command("worker")(worker)


_mount_domain_commands()
