"""The ``telemetron`` command: every domain's commands, assembled in one place.

Each domain declares its commands in its own ``cli.py`` as Typer apps; here each app is added
once: a command group under its name, or a Typer of top-level commands without one.
"""

from __future__ import annotations

import typer

from telemetron.audit.cli import audit_app
from telemetron.backup.cli import export_import_app
from telemetron.categories.cli import category_app
from telemetron.db.cli import db_app
from telemetron.demo import demo_app
from telemetron.macros.cli import macro_app
from telemetron.mail.cli import mailbox_app
from telemetron.members.cli import member_app
from telemetron.notifications.cli import slack_app, webhook_app
from telemetron.orgs.cli import apikey_app, org_app
from telemetron.outbox.cli import outbox_app, worker_app
from telemetron.routing.cli import rules_app, team_app
from telemetron.serve import serve_app
from telemetron.triage.cli import triage_app

app = typer.Typer(help="Telemetron: self-hosted support ticketing.", no_args_is_help=True)

TOP_LEVEL_COMMANDS = (serve_app, demo_app, worker_app, export_import_app)
GROUPS = {
    "db": db_app,
    "org": org_app,
    "apikey": apikey_app,
    "category": category_app,
    "member": member_app,
    "triage": triage_app,
    "rules": rules_app,
    "team": team_app,
    "slack": slack_app,
    "webhook": webhook_app,
    "outbox": outbox_app,
    "macro": macro_app,
    "audit": audit_app,
    "mailbox": mailbox_app,
}

for commands in TOP_LEVEL_COMMANDS:
    app.add_typer(commands)
for name, group in GROUPS.items():
    app.add_typer(group, name=name)
