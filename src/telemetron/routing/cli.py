"""``telemetron rules ...`` and ``telemetron team ...``: routing rules and teams of an organization."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from telemetron.cli_support import JsonOption, OrgOption, echo_json, parse_json_option, scoped_read, scoped_run

rules_app = typer.Typer(help="Routing rules: who gets which ticket.", no_args_is_help=True)
team_app = typer.Typer(help="Teams of members, for routing.", no_args_is_help=True)

ListOption = Optional[list[str]]


@rules_app.command("add")
def rules_add(
    org: OrgOption,
    name: Annotated[str, typer.Argument(help="A name that says what the rule is for.")],
    category: Annotated[ListOption, typer.Option("--category", help="Ticket category (repeatable: any of).")] = None,
    customer_category: Annotated[ListOption, typer.Option("--customer-category")] = None,
    device_category: Annotated[ListOption, typer.Option("--device-category")] = None,
    priority: Annotated[ListOption, typer.Option("--priority", help="low|medium|high|urgent (repeatable).")] = None,
    email_domain: Annotated[ListOption, typer.Option("--email-domain")] = None,
    keyword: Annotated[ListOption, typer.Option("--keyword", help="A word or phrase in the title, description or messages.")] = None,
    assign_member: Annotated[Optional[str], typer.Option("--assign-member", help="Member id (mem_...).")] = None,
    assign_team: Annotated[Optional[str], typer.Option("--assign-team", help="Team id (team_...).")] = None,
    set_priority: Annotated[Optional[str], typer.Option("--set-priority")] = None,
    tag: Annotated[ListOption, typer.Option("--tag", help="Tag to add (repeatable).")] = None,
    slack_channel: Annotated[Optional[str], typer.Option("--slack-channel", help="Post this ticket's notification to this channel.")] = None,
    position: Annotated[Optional[int], typer.Option(help="Order: lower runs first (default: after the others).")] = None,
    continue_matching: Annotated[bool, typer.Option("--continue", help="Go on to later rules after this one matches.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Add a routing rule. Conditions must all match; a rule with none matches every ticket."""
    from telemetron.routing.service import add_rule

    conditions = {
        key: values
        for key, values in (
            ("ticketCategory", category), ("customerCategory", customer_category), ("deviceCategory", device_category),
            ("priority", priority), ("emailDomain", email_domain), ("keywords", keyword),
        )
        if values
    }
    actions = {
        key: value
        for key, value in (
            ("assignMember", assign_member), ("assignTeam", assign_team), ("setPriority", set_priority),
            ("addTags", tag), ("slackChannel", slack_channel),
        )
        if value
    }
    rule = scoped_run(org, add_rule, name=name, conditions=conditions, actions=actions, position=position,
                      continue_matching=continue_matching)
    if as_json:
        echo_json({"id": rule["id"], "name": rule["name"], "position": rule["position"]})
    else:
        typer.echo(f"{rule['id']}  #{rule['position']}  {rule['name']}")


@rules_app.command("list")
def rules_list(org: OrgOption, as_json: JsonOption = False) -> None:
    """List rules in the order they run."""
    from telemetron.routing.service import list_rules

    rules = scoped_read(org, list_rules)
    rows = [{"id": r["id"], "name": r["name"], "position": r["position"], "enabled": r["enabled"],
             "conditions": r["conditions"], "actions": r["actions"], "continue": r["continue_matching"]} for r in rules]
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        state = "" if r["enabled"] else " (disabled)"
        typer.echo(f"#{r['position']} {r['id']}  {r['name']}{state}\n    when {r['conditions'] or 'always'}\n    then {r['actions']}")


@rules_app.command("disable")
def rules_disable(org: OrgOption, rule_id: Annotated[str, typer.Argument(help="Rule id (rule_...).")]) -> None:
    """Disable a rule (kept, so tickets it routed still say why)."""
    from telemetron.routing.service import disable_rule

    scoped_run(org, disable_rule, rule_id)
    typer.echo(f"disabled {rule_id}")


@rules_app.command("test")
def rules_test(
    org: OrgOption,
    ticket: Annotated[str, typer.Argument(help='A createTicket body as JSON, e.g. \'{"title": "...", "customerEmail": "..."}\'.')],
    as_json: JsonOption = False,
) -> None:
    """Dry run: what would happen to this ticket (category, rule, assignee, notifications), creating nothing."""
    from telemetron.api.create_ticket import dry_run

    body = parse_json_option(ticket, what="The ticket")
    result = scoped_run(org, lambda scoped: dry_run(scoped, body))
    if as_json:
        echo_json(result)
        return
    typer.echo(f"category:   {result['category'] or 'none'} ({result['categorySource']})")
    typer.echo(f"priority:   {result['priority']}")
    assignee = result["assignee"]
    typer.echo(f"assignee:   {assignee['name'] + ' <' + assignee['email'] + '>' if assignee else 'nobody'}")
    typer.echo(f"tags:       {', '.join(result['tags']) or '-'}")
    typer.echo(f"routing:    {result['routing']['reason'] or 'no rules'}")
    typer.echo(f"notify:     {', '.join(result['notifications']) or 'nothing'}")


@team_app.command("add")
def team_add(
    org: OrgOption,
    name: Annotated[str, typer.Argument(help="Team name.")],
    member: Annotated[ListOption, typer.Option("--member", help="Member id (repeatable).")] = None,
    strategy: Annotated[str, typer.Option(help="round_robin or least_open (fewest open tickets).")] = "round_robin",
    as_json: JsonOption = False,
) -> None:
    """Add a team; rules can assign tickets to it."""
    from telemetron.routing.service import add_team

    team = scoped_run(org, add_team, name=name, strategy=strategy, member_ids=member or [])
    if as_json:
        echo_json({"id": team["id"], "name": team["name"], "strategy": team["strategy"]})
    else:
        typer.echo(f"{team['id']}  {team['name']}  ({team['strategy']})")


@team_app.command("list")
def team_list(org: OrgOption, as_json: JsonOption = False) -> None:
    """List teams."""
    from telemetron.routing.service import list_teams

    teams = scoped_read(org, list_teams)
    if as_json:
        echo_json([{"id": t["id"], "name": t["name"], "strategy": t["strategy"]} for t in teams])
        return
    for t in teams:
        typer.echo(f"{t['id']}  {t['name']}  ({t['strategy']})")

