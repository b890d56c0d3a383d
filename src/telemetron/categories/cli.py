"""``telemetron category add|update|list``: an organization's ticket categories, which the AI learns."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from telemetron.cli_support import JsonOption, OrgOption, echo_json, echo_result, fail, scoped_read, scoped_run

category_app = typer.Typer(help="Ticket categories of an organization.", no_args_is_help=True)


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

    cat = scoped_run(org, add_category, name=name, description=description, ai_enabled=ai, auto_resolve=auto_resolve,
                     active=not inactive, examples=example or [])
    echo_result(as_json, {"id": cat["id"], "name": cat["name"]}, f"{cat['id']}  {cat['name']}")


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
        fail("give --example or --clear-examples, not both")

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

    cat = scoped_run(org, update)
    row = {"id": cat["id"], "name": cat["name"], "description": cat["description"], "examples": cat["examples"],
           "active": cat["active"], "aiEnabled": cat["ai_enabled"], "autoResolve": cat["auto_resolve"]}
    echo_result(as_json, row, f"updated {cat['id']}  {cat['name']}")


@category_app.command("list")
def category_list(org: OrgOption, as_json: JsonOption = False) -> None:
    """List categories."""
    from telemetron.categories.service import list_categories

    rows = [
        {"id": c["id"], "name": c["name"], "description": c["description"], "active": c["active"],
         "aiEnabled": c["ai_enabled"], "autoResolve": c["auto_resolve"]}
        for c in scoped_read(org, list_categories)
    ]
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        flags = ",".join(f for f, on in (("active", r["active"]), ("ai", r["aiEnabled"]), ("auto-resolve", r["autoResolve"])) if on)
        typer.echo(f"{r['id']}  {r['name']}  [{flags}]  {r['description']}")
