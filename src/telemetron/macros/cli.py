"""``telemetron macro ...``: canned replies and macros, through the functions the web app uses."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from telemetron.cli_support import JsonOption, OrgOption, echo_records, scoped_read, scoped_run

macro_app = typer.Typer(help="Canned replies and macros agents apply on a ticket.", no_args_is_help=True)


def _public(m: dict) -> dict:
    return {"id": m["id"], "name": m["name"], "content": m["content"], "actions": m["actions"]}


def _line(m: dict) -> str:
    return f"{m['id']}  {m['name']}"


@macro_app.command("add")
def macro_add(
    org: OrgOption,
    name: Annotated[str, typer.Argument(help="What agents pick it by.")],
    content: Annotated[str, typer.Option(help="The reply: {{customer_name}}, {{ticket_number}}, {{agent_name}}.")] = "",
    status: Annotated[Optional[str], typer.Option()] = None,
    priority: Annotated[Optional[str], typer.Option()] = None,
    category: Annotated[Optional[str], typer.Option(help="Category name.")] = None,
    assignee: Annotated[Optional[str], typer.Option(help="me, unassigned or a member id.")] = None,
    tag: Annotated[Optional[list[str]], typer.Option("--tag", help="Tag to add (repeatable).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Add a macro: a reply, field changes, or both."""
    from telemetron.macros.service import add_macro

    actions = {"status": status, "priority": priority, "category": category, "assignee": assignee, "tags": tag}
    macro = scoped_run(org, add_macro, name=name, content=content, actions={k: v for k, v in actions.items() if v})
    echo_records(_public(macro), as_json, _line)


@macro_app.command("list")
def macro_list(org: OrgOption, as_json: JsonOption = False) -> None:
    """List the organization's macros."""
    from telemetron.macros.service import list_macros

    echo_records([_public(m) for m in scoped_read(org, list_macros)], as_json, _line)


@macro_app.command("delete")
def macro_delete(org: OrgOption, macro_id: Annotated[str, typer.Argument(help="Macro id (mac_...).")]) -> None:
    """Delete a macro."""
    from telemetron.macros.service import delete_macro

    scoped_run(org, delete_macro, macro_id)
    typer.echo(f"deleted {macro_id}")
