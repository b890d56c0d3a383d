"""``telemetron mailbox add|list|update|remove``: connect an organization's support address.

URLs are secrets: they are taken from the command line (or ``-`` to read them from standard
input, out of the shell's history) and never printed back, only scheme, user and host.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from telemetron.cli_support import JsonOption, OrgOption, echo_json, scoped_read, scoped_run

mailbox_app = typer.Typer(help="Mailboxes: email in (forwarders, IMAP) and out (SMTP).", no_args_is_help=True)

SmtpOption = Annotated[str | None, typer.Option(
    "--smtp-url", help="smtp://, smtp+starttls:// or smtps://user:password@host:port ('-': read from stdin).")]
ImapOption = Annotated[str | None, typer.Option(
    "--imap-url", help="imap:// or imaps://user:password@host:port/FOLDER to poll ('-': read from stdin).")]


def _value(url: str | None) -> str | None:
    return sys.stdin.readline().strip() if url == "-" else url


@mailbox_app.command("add")
def mailbox_add(org: OrgOption, address: Annotated[str, typer.Argument(help="The support address, e.g. support@acme.example.")],
                smtp_url: SmtpOption = None, imap_url: ImapOption = None, as_json: JsonOption = False) -> None:
    """Add a mailbox; prints its inbound secret (for POST /api/inbound/email) once."""
    from telemetron.cli_support import fail
    from telemetron.mail.mailboxes import add_mailbox

    if not smtp_url:
        fail("--smtp-url is required: agents' replies are sent through it")
    added = scoped_run(org, add_mailbox, address=address, smtp_url=_value(smtp_url), imap_url=_value(imap_url))
    if as_json:
        echo_json(added)
        return
    typer.echo(f"mailbox {added['id']} {added['address']} (smtp {added['smtp']}"
               + (f", imap {added['imap']}" if added["imap"] else "") + ")")
    typer.echo(f"inbound secret (shown once): {added['inboundSecret']}")


@mailbox_app.command("list")
def mailbox_list(org: OrgOption, as_json: JsonOption = False) -> None:
    """The organization's mailboxes (URLs without their passwords)."""
    from telemetron.mail.mailboxes import list_mailboxes

    rows = scoped_read(org, list_mailboxes)
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['id']}  {r['address']}  smtp {r['smtp']}  imap {r['imap'] or '-'}")


@mailbox_app.command("update")
def mailbox_update(org: OrgOption, mailbox: Annotated[str, typer.Argument(help="The mailbox's id or address.")],
                   smtp_url: SmtpOption = None, imap_url: ImapOption = None,
                   no_imap: Annotated[bool, typer.Option("--no-imap", help="Stop polling by IMAP.")] = False,
                   new_secret: Annotated[bool, typer.Option("--new-inbound-secret",
                                                            help="Replace the inbound secret.")] = False,
                   as_json: JsonOption = False) -> None:
    """Change a mailbox's URLs, or give it a new inbound secret."""
    from telemetron.mail.mailboxes import update_mailbox

    done = scoped_run(org, update_mailbox, mailbox, smtp_url=_value(smtp_url), imap_url=_value(imap_url),
                      remove_imap=no_imap, new_secret=new_secret)
    if as_json:
        echo_json(done)
        return
    typer.echo(f"mailbox {done['address']} updated: {', '.join(done['updated']) or 'nothing'}")
    if "inboundSecret" in done:
        typer.echo(f"new inbound secret (shown once): {done['inboundSecret']}")


@mailbox_app.command("remove")
def mailbox_remove(org: OrgOption, mailbox: Annotated[str, typer.Argument(help="The mailbox's id or address.")]) -> None:
    """Remove a mailbox (its tickets stay; replies to them are no longer emailed)."""
    from telemetron.mail.mailboxes import remove_mailbox

    typer.echo(f"mailbox {scoped_run(org, remove_mailbox, mailbox)} removed")
