"""``telemetron audit list``: an organization's audit log from a shell."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from telemetron.cli_support import JsonOption, OrgOption, echo_json, scoped_read

audit_app = typer.Typer(help="The audit log: who changed what, when, from where.", no_args_is_help=True)


def describe(event: dict) -> str:
    """One line a person reads: time, action, who (from where), what."""
    who = event["actor_label"] + (f" from {event['client_address']}" if event["client_address"] else "")
    details = json.dumps(event["details"], ensure_ascii=False, sort_keys=True, default=str)
    return f"{event['created_at']:%Y-%m-%d %H:%M:%S}  {event['action']:<30}  {who}  {details}"


@audit_app.command("list")
def audit_list(
    org: OrgOption,
    limit: Annotated[int, typer.Option(help="How many events, newest first (at most 500).")] = 100,
    before: Annotated[int | None, typer.Option(help="Only events older than this event id (the next page).")] = None,
    as_json: JsonOption = False,
) -> None:
    """List the organization's audit events, newest first."""
    from telemetron.audit import list_events

    events = scoped_read(org, lambda scoped: list_events(scoped, limit=limit, before=before))
    if as_json:
        echo_json([{"id": e["id"], "at": e["created_at"].isoformat(), "action": e["action"],
                    "actor": {"kind": e["actor_kind"], "id": e["actor_id"], "label": e["actor_label"]},
                    "clientAddress": e["client_address"], "details": e["details"]} for e in events])
        return
    for event in events:
        typer.echo(describe(event))
    if not events:
        typer.echo("no events")
