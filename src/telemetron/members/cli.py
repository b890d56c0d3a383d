"""``telemetron member ...``: an organization's team members (agents and admins), from a shell.

Passwords are read from a hidden prompt (asked twice) or, for scripts, from standard input with
``--password-stdin`` (first line, without its newline): never from an argument, which would land in
the shell's history and in ``ps``.
"""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from telemetron.cli_support import JsonOption, OrgOption, echo_json, echo_result, fail, scoped_read, scoped_run
from telemetron.enums import MEMBER_ROLES

member_app = typer.Typer(help="Team members (agents) of an organization: who tickets are assigned to.", no_args_is_help=True)

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


@member_app.command("add")
def member_add(
    org: OrgOption,
    email: Annotated[str, typer.Argument(help="The member's email (unique in the organization, ignoring case).")],
    name: Annotated[Optional[str], typer.Option(help="Display name (default: the part of the email before @).")] = None,
    role: Annotated[str, typer.Option(help=f"{' or '.join(MEMBER_ROLES)} (admins manage the organization in the web app).")] = "agent",
    password: Annotated[bool, typer.Option("--password", help="Prompt for a web app password.")] = False,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the web app password from standard input.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Add a team member; tickets can then be assigned to the id it prints (mem_...).

    With --password or --password-stdin the member can sign in to the web app at once; otherwise
    later, after `telemetron member password`."""
    from telemetron.errors import AppError
    from telemetron.members.service import add_member, check_role

    try:
        check_role(role)  # a bad role fails before the password is asked
    except AppError as exc:
        fail(exc.message)
    password_hash = read_password(password_stdin, email=email) if (password or password_stdin) else None
    member = scoped_run(org, add_member, email=email, name=name, role=role, password_hash=password_hash)
    body = {"id": member["id"], "email": member["email"], "name": member["name"], "available": member["available"]}
    if member["role"] != "agent" or member["can_sign_in"]:
        body.update(role=member["role"], canSignIn=member["can_sign_in"])
    echo_result(as_json, body, f"{member['id']}  {member['email']}  {member['name']}"
                + (f"  [{member['role']}]" if member["role"] != "agent" else ""))


@member_app.command("list")
def member_list(org: OrgOption, as_json: JsonOption = False) -> None:
    """List team members, by email."""
    from telemetron.members.service import list_members

    rows = [
        {"id": m["id"], "email": m["email"], "name": m["name"], "available": m["available"], "role": m["role"],
         "canSignIn": m["can_sign_in"], "createdAt": m["created_at"].isoformat()}
        for m in scoped_read(org, list_members)
    ]
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['id']}  {r['email']}  {r['name']}" + ("" if r["available"] else "  [unavailable]")
                   + (f"  [{r['role']}]" if r["role"] != "agent" else ""))


@member_app.command("password")
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


@member_app.command("role")
def role_cmd(
    org: OrgOption,
    email: Annotated[str, typer.Argument(help="The member's email.")],
    role: Annotated[str, typer.Argument(help="agent or admin.")],
    as_json: JsonOption = False,
) -> None:
    """Make a member an agent or an admin of the web app."""
    from telemetron.members.service import set_role

    member = scoped_run(org, lambda scoped: set_role(scoped, _by_email(scoped, email)["id"], role))
    echo_result(as_json, {"id": member["id"], "email": member["email"], "role": member["role"]},
                f"{member['email']} is now {member['role']}")


@member_app.command("2fa-reset")
def two_factor_reset_cmd(
    org: OrgOption,
    email: Annotated[str, typer.Argument(help="The member's email.")],
) -> None:
    """Turn a member's two-factor sign-in off (a lost phone); they sign in with their password alone,
    or set it up again at once when the organization requires it."""
    member = scoped_run(org, lambda scoped: _reset_two_factor(scoped, email))
    typer.echo(f"two-factor sign-in is off for {member['email']}")


@member_app.command("available")
def available_cmd(
    org: OrgOption,
    email: Annotated[str, typer.Argument(help="The member's email.")],
    available: Annotated[bool, typer.Option("--yes/--no", help="Available for routing or not.")] = True,
) -> None:
    """Mark a member available (or not) for routing rules and teams."""
    from telemetron.members.service import set_available

    member = scoped_run(org, lambda scoped: set_available(scoped, _by_email(scoped, email)["id"], available))
    typer.echo(f"{member['email']} is {'available' if member['available'] else 'unavailable'}")
