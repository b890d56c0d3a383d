"""``telemetron member password|role|available``: what an admin sets for the web app from a shell.

Passwords are read from a hidden prompt (asked twice) or, for scripts, from standard input with
``--password-stdin`` (first line, without its newline): never from an argument, which would land in
the shell's history and in ``ps``.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from telemetron.cli_support import JsonOption, OrgOption, echo_records, fail, scoped_run

PasswordStdinOption = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input (first line) instead of a prompt.")
]


def read_password(from_stdin: bool, *, email: str = "") -> str:
    """The new password, checked (length, not common: ``check_password``) and hashed outside any
    transaction: returns the hash."""
    from telemetron.errors import AppError
    from telemetron.members.auth import check_password, hash_password

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        check_password(password, user_inputs=(email,))
    except AppError as exc:
        fail(exc.message)
    return hash_password(password)


def _by_email(scoped, email: str) -> dict:
    from telemetron.customers.service import normalize_email
    from telemetron.errors import NotFound
    from telemetron.members.service import find_by_email

    member = find_by_email(scoped, normalize_email(email, field="email"))
    if member is None:
        raise NotFound(f"No member with email {email.strip()} in this organization", code="member_not_found")
    return member


def _reset_two_factor(scoped, email: str) -> dict:
    from telemetron.members import twofactor

    member = _by_email(scoped, email)
    twofactor.reset(scoped, member["id"])
    return member


def register(app: typer.Typer) -> None:
    @app.command("password")
    def password_cmd(
        org: OrgOption,
        email: Annotated[str, typer.Argument(help="The member's email.")],
        password_stdin: PasswordStdinOption = False,
    ) -> None:
        """Set a member's web app password (signs them out everywhere)."""
        from telemetron.members.service import set_password_hash

        password_hash = read_password(password_stdin, email=email)
        member = scoped_run(org, lambda scoped: set_password_hash(scoped, _by_email(scoped, email)["id"], password_hash))
        typer.echo(f"password set for {member['email']} ({member['role']}); their other sessions are signed out")

    @app.command("role")
    def role_cmd(
        org: OrgOption,
        email: Annotated[str, typer.Argument(help="The member's email.")],
        role: Annotated[str, typer.Argument(help="agent or admin.")],
        as_json: JsonOption = False,
    ) -> None:
        """Make a member an agent or an admin of the web app."""
        from telemetron.members.service import set_role

        member = scoped_run(org, lambda scoped: set_role(scoped, _by_email(scoped, email)["id"], role))
        echo_records({"id": member["id"], "email": member["email"], "role": member["role"]}, as_json,
                     lambda m: f"{m['email']} is now {m['role']}")

    @app.command("2fa-reset")
    def two_factor_reset_cmd(
        org: OrgOption,
        email: Annotated[str, typer.Argument(help="The member's email.")],
    ) -> None:
        """Turn a member's two-factor sign-in off (a lost phone); they sign in with their password alone,
        or set it up again at once when the organization requires it."""
        member = scoped_run(org, lambda scoped: _reset_two_factor(scoped, email))
        typer.echo(f"two-factor sign-in is off for {member['email']}")

    @app.command("available")
    def available_cmd(
        org: OrgOption,
        email: Annotated[str, typer.Argument(help="The member's email.")],
        available: Annotated[bool, typer.Option("--yes/--no", help="Available for routing or not.")] = True,
    ) -> None:
        """Mark a member available (or not) for routing rules and teams."""
        from telemetron.members.service import set_available

        member = scoped_run(org, lambda scoped: set_available(scoped, _by_email(scoped, email)["id"], available))
        typer.echo(f"{member['email']} is {'available' if member['available'] else 'unavailable'}")
