"""``telemetron demo``: a demo organization to try the API and the web app on, with a working curl."""

from __future__ import annotations

import json
import shlex

import typer

from telemetron.cli_support import run
from telemetron.db.scoped import Scoped

demo_app = typer.Typer()

DEMO_ORG = "Demo Company"
DEMO_CATEGORIES = {
    "Connectivity": "WiFi, Bluetooth, pairing, network and connection problems",
    "Battery": "Battery life, charging, power and overheating while charging",
    "Billing": "Invoices, payments, refunds, subscriptions and charges",
    "Hardware": "Broken, damaged or faulty devices, screens, buttons and sensors",
}
DEMO_ADMIN = "admin@example.com"
EXAMPLE_CUSTOMER_EMAIL, EXAMPLE_CUSTOMER_ID = "john.doe@example.com", "cust_a1b2c3d4e5f6"
EXAMPLE_TICKET = {
    "title": "Device not connecting to WiFi",
    "description": "Customer reports their device fails to connect after firmware update v2.3.1",
    "priority": "high",
    "customerEmail": EXAMPLE_CUSTOMER_EMAIL,
    "category": "Connectivity",
}


@demo_app.command("demo")
def demo(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Create (once) a demo organization with categories and an admin; make a fresh API key and a
    fresh admin password; print a working curl and the web app's sign-in."""
    import secrets

    from telemetron.members.auth import hash_password

    password = secrets.token_urlsafe(12)
    password_hash = hash_password(password)  # slow: before the transaction
    org, key = run(_set_up_demo, password_hash)
    _print_instructions(org, key.key, password, host, port)


def _set_up_demo(conn, db, password_hash: str):
    """The demo organization (created once), its example customer and admin; a new API key."""
    from telemetron.orgs.apikeys import create_api_key

    org, scoped = _demo_organization(conn, db)
    _example_customer(scoped)
    _demo_admin(scoped, password_hash)
    return org, create_api_key(conn, org_id=org["id"], name="demo", actor=scoped.actor)


def _demo_organization(conn, db) -> tuple[dict, Scoped]:
    from telemetron.audit import Actor
    from telemetron.categories.service import add_category
    from telemetron.orgs.service import create_organization, find_organization_by_name

    org = find_organization_by_name(conn, DEMO_ORG)
    if org is not None:
        return org, Scoped(db, conn, org["id"], Actor.cli())
    org = create_organization(conn, name=DEMO_ORG)
    scoped = Scoped(db, conn, org["id"], Actor.cli())
    for cat_name, description in DEMO_CATEGORIES.items():
        add_category(scoped, name=cat_name, description=description)
    return org, scoped


def _example_customer(scoped: Scoped) -> None:
    """The customer of the document's examples, under the id its customerId example uses, so that
    every example works verbatim against the demo organization (once; unless that id is someone
    else's in this database)."""
    from sqlalchemy import select

    from telemetron.customers.service import get_or_create_by_email
    from telemetron.db.tables import customers

    taken = scoped.conn.execute(select(customers.c.id).where(customers.c.id == EXAMPLE_CUSTOMER_ID)).first()
    if taken is None:
        get_or_create_by_email(scoped, EXAMPLE_CUSTOMER_EMAIL, new_id=EXAMPLE_CUSTOMER_ID)


def _demo_admin(scoped: Scoped, password_hash: str) -> None:
    from telemetron.members.service import add_member, find_by_email, set_password_hash

    admin = find_by_email(scoped, DEMO_ADMIN)
    if admin is None:
        add_member(scoped, email=DEMO_ADMIN, name="Demo Admin", role="admin", password_hash=password_hash)
    else:
        set_password_hash(scoped, admin["id"], password_hash)


def _print_instructions(org: dict, key: str, password: str, host: str, port: int) -> None:
    typer.echo(f"Demo organization {org['id']} ({org['name']}); a new API key: {key}")
    typer.echo(f"For the README's examples:  export ORG={org['id']} KEY={key}\n")
    typer.echo("Try it (in another terminal, once the server below is up):\n")
    typer.echo(
        f"curl -X POST http://{host}:{port}/api/ext-v1/ticket/createTicket \\\n"
        f"  -H {shlex.quote('x-api-key: ' + key)} \\\n"
        f"  -H 'Content-Type: application/json' \\\n"
        f"  -d {shlex.quote(json.dumps(EXAMPLE_TICKET))}\n"
    )
    typer.echo(f"Web app: http://{host}:{port}/signin  as {DEMO_ADMIN} (admin), password {password}")
    typer.echo("         (a new password on every `telemetron demo`; `telemetron member password` sets your own)")
    typer.echo(f"API docs: http://{host}:{port}/docs\n")
