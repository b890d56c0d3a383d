"""`telemetron org rate-limit`: an organization's own API rate limit (``orgs/cli.py`` adds it to the org group)."""

from __future__ import annotations

from typing import Annotated

import typer

from telemetron.cli_support import JsonOption, OrgOption, echo_json, fail, scoped_read, scoped_run

rate_limit_app = typer.Typer()


@rate_limit_app.command("rate-limit")
def rate_limit(
    org: OrgOption,
    limit: Annotated[str | None, typer.Argument(
        help="Requests per API key, e.g. '20/second' or '100/second;3000/minute'; 'off' for none.")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Back to the server's TELEMETRON_RATE_LIMIT.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Show or set the organization's rate limit per API key (every server applies it within 5 s)."""
    from telemetron.ratelimit.overrides import get_override, set_override
    from telemetron.ratelimit.policy import OFF

    if clear and limit is not None:
        fail("give a limit or --clear, not both")
    if clear or limit is not None:
        policy = scoped_run(org, lambda scoped: set_override(scoped, None if clear else limit))
        stored = None if clear else (policy.text if policy is not None else OFF)
    else:
        stored = scoped_read(org, get_override)
    if as_json:
        echo_json({"organizationId": org, "rateLimit": stored})
    else:
        typer.echo(f"rate limit: {stored}" if stored else "rate limit: the server's (TELEMETRON_RATE_LIMIT)")

