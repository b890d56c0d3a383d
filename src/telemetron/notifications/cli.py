"""``telemetron slack ...`` and ``telemetron webhook ...``: where an organization's notifications go."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from telemetron.cli_support import JsonOption, OrgOption, echo_json, scoped_read, scoped_run

slack_app = typer.Typer(help="Slack notifications (an incoming webhook).", no_args_is_help=True)
webhook_app = typer.Typer(help="Outgoing webhooks: signed JSON ticket events.", no_args_is_help=True)


@slack_app.command("set")
def slack_set(
    org: OrgOption,
    webhook_url: Annotated[Optional[str], typer.Option("--webhook-url", help="Slack incoming webhook URL ('' to turn off).")] = None,
    public_url: Annotated[Optional[str], typer.Option("--public-url", help="Base URL of the web app, for links to tickets.")] = None,
    channel: Annotated[Optional[str], typer.Option("--channel", help="Default channel, e.g. #support ('' for the webhook's own).")] = None,
) -> None:
    """Set the Slack incoming webhook (a secret: it is never printed back), its default channel and the link base URL."""
    from telemetron.notifications.settings import set_settings

    changes = {}
    if webhook_url is not None:
        changes["slack_webhook_url"] = webhook_url or None
    if public_url is not None:
        changes["public_url"] = public_url or None
    if channel is not None:
        changes["slack_channel"] = channel or None
    scoped_run(org, lambda scoped: set_settings(scoped, **changes))
    typer.echo("saved")


@slack_app.command("show")
def slack_show(org: OrgOption, as_json: JsonOption = False) -> None:
    """Show the settings, with the webhook URL masked."""
    from telemetron.notifications.settings import get_settings, get_slack, mask

    (url, public), (_, channel) = scoped_read(org, lambda scoped: (get_settings(scoped), get_slack(scoped)))
    if as_json:
        echo_json({"slackWebhookUrl": mask(url), "publicUrl": public, "channel": channel})
    else:
        own = "the webhook's own"
        typer.echo(f"slack webhook: {mask(url) or 'not set'}\npublic url:    {public or 'not set'}\n"
                   f"channel:       {channel or own}")


@slack_app.command("test")
def slack_test(org: OrgOption) -> None:
    """Queue a test message to the Slack webhook; `outbox list` shows how it went."""
    from telemetron.notifications.deliveries import send_slack_test

    typer.echo(f"test queued as message {scoped_run(org, send_slack_test)} (see: telemetron outbox list)")


@webhook_app.command("test")
def webhook_test(org: OrgOption, endpoint_id: Annotated[str, typer.Argument(metavar="ID", help="The endpoint's id (whk_...).")]) -> None:
    """Queue a signed webhook.test delivery to the endpoint; `outbox list` shows how it went."""
    from telemetron.notifications.deliveries import send_webhook_test

    typer.echo(f"test queued as message {scoped_run(org, send_webhook_test, endpoint_id)} (see: telemetron outbox list)")


@webhook_app.command("add")
def webhook_add(org: OrgOption, url: Annotated[str, typer.Argument(help="Where to POST ticket events.")], as_json: JsonOption = False) -> None:
    """Add an endpoint; prints its signing secret (shown once here; `webhook list --show-secrets` shows it again)."""
    from telemetron.notifications.settings import add_endpoint

    endpoint = scoped_run(org, add_endpoint, url=url)
    if as_json:
        echo_json({"id": endpoint["id"], "url": endpoint["url"], "secret": endpoint["secret"]})
    else:
        typer.echo(f"{endpoint['id']}  {endpoint['url']}\nsigning secret: {endpoint['secret']}")


@webhook_app.command("list")
def webhook_list(org: OrgOption, show_secrets: Annotated[bool, typer.Option("--show-secrets")] = False,
                 as_json: JsonOption = False) -> None:
    """List endpoints."""
    from telemetron.notifications.settings import list_endpoints

    rows = [{"id": e["id"], "url": e["url"], "enabled": e["enabled"], **({"secret": e["secret"]} if show_secrets else {})}
            for e in scoped_read(org, list_endpoints)]
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['id']}  {r['url']}  {'enabled' if r['enabled'] else 'disabled'}" + (f"  {r['secret']}" if show_secrets else ""))


@webhook_app.command("rotate")
def webhook_rotate(
    org: OrgOption,
    endpoint_id: Annotated[str, typer.Argument(metavar="ID", help="The endpoint's id (whk_...).")],
    overlap_hours: Annotated[float, typer.Option("--overlap-hours", help="Hours the old secret keeps signing beside the new one (0-168; 0: it stops at once).")] = 0,
    as_json: JsonOption = False,
) -> None:
    """A new signing secret, printed once; the old one stops at once unless --overlap-hours."""
    from telemetron.notifications.rotation import rotate_secret

    rotated = scoped_run(org, rotate_secret, endpoint_id, overlap_hours=overlap_hours)
    until = rotated["previousSecretExpiresAt"]
    if as_json:
        echo_json({**rotated, "previousSecretExpiresAt": until.isoformat() if until else None})
        return
    typer.echo(f"{rotated['id']}  {rotated['url']}\nnew signing secret: {rotated['secret']}")
    typer.echo(f"the old secret also signs until {until.isoformat()}" if until else "the old secret no longer signs")


@webhook_app.command("remove")
def webhook_remove(org: OrgOption, endpoint_id: Annotated[str, typer.Argument(metavar="ID", help="The endpoint's id (whk_...).")]) -> None:
    """Delete an endpoint and its secret; deliveries still waiting for it are marked failed."""
    from telemetron.notifications.rotation import remove_endpoint

    marked = scoped_run(org, remove_endpoint, endpoint_id)
    typer.echo(f"removed {endpoint_id}; {marked} waiting deliveries to it marked failed")


@slack_app.command("remove")
def slack_remove(org: OrgOption) -> None:
    """Forget the Slack webhook URL (`slack set --webhook-url` replaces it); waiting Slack messages are marked failed."""
    from telemetron.notifications.rotation import remove_slack

    marked = scoped_run(org, remove_slack)
    typer.echo(f"Slack webhook removed; {marked} waiting Slack messages marked failed")
