"""TOTP two-factor sign-in (RFC 6238, with pyotp): enrolment, codes, recovery codes, the organization's rule.

- Enrolment: ``start`` keeps a new secret on the member, not yet enabled; the member scans its QR
  code (drawn here as inline SVG by segno: no image service, no CDN) and ``enable`` turns it on
  once a code from the app matches, returning 10 recovery codes, shown once and kept as SHA-256.
- A code is good for its 30-second step and the steps either side (clock drift), and once only:
  the step of the last accepted code is stored and an older or equal one is refused (no replay).
- A recovery code stands in for a TOTP code once (a lost phone).
- ``required``: an organization whose admins require two-factor sign-in sends members without it
  to set it up right after their password (``stage_after_password``), and they cannot turn it off.

Guessing codes is throttled like passwords by the caller (``members.throttle`` with
``throttle_key``), in the same unit of work as the check.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
import segno
from sqlalchemy import Connection, bindparam, func, or_, select, update

from telemetron import audit
from telemetron.db.scoped import Scoped, tenant_delete, tenant_insert, tenant_select, tenant_update
from telemetron.db.tables import member_recovery_codes, members, organizations
from telemetron.errors import Conflict, InvalidRequest

RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread

_mc = members.c
_rc = member_recovery_codes.c
_STATE = tenant_select(members, _mc.totp_secret, _mc.totp_enabled_at).where(_mc.id == bindparam("member_id"))
_SET = tenant_update(members).where(_mc.id == bindparam("member_id"))
_ACCEPT_STEP = _SET.where(or_(_mc.totp_last_step.is_(None), _mc.totp_last_step < bindparam("step"))).values(
    totp_last_step=bindparam("step"))
_INSERT_CODE = tenant_insert(member_recovery_codes)
_USE_CODE = tenant_update(member_recovery_codes).where(  # (bound names must differ from column names)
    _rc.member_id == bindparam("owner_id"), _rc.code_hash == bindparam("hashed"), _rc.used_at.is_(None)
).values(used_at=bindparam("now"))
_CODES_LEFT = tenant_select(member_recovery_codes, func.count()).where(
    _rc.member_id == bindparam("member_id"), _rc.used_at.is_(None))
_DELETE_CODES = tenant_delete(member_recovery_codes).where(_rc.member_id == bindparam("member_id"))
_ENABLED = tenant_select(members, _mc.id).where(_mc.totp_enabled_at.is_not(None))
_REQUIRED = select(organizations.c.require_2fa).where(organizations.c.id == bindparam("org_id"))
_SET_REQUIRED = update(organizations).where(organizations.c.id == bindparam("org_id")).values(
    require_2fa=bindparam("required"))


def throttle_key(member_id: str) -> str:
    """The member's counter of code attempts in ``signin_throttle``."""
    return f"totp:{member_id}"


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _normalized(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()[:64]


def state(scoped: Scoped, member_id: str) -> dict:
    row = scoped.execute(_STATE, {"member_id": member_id}).first()
    enabled = row is not None and row.totp_enabled_at is not None
    return {"enabled": enabled, "pending_secret": row.totp_secret if row is not None and not enabled else None,
            "codes_left": scoped.execute(_CODES_LEFT, {"member_id": member_id}).scalar_one() if enabled else 0}


def start(scoped: Scoped, member_id: str) -> str:
    """A new secret for the member to scan (replacing any unconfirmed one); 409 if already on."""
    if state(scoped, member_id)["enabled"]:
        raise Conflict("Two-factor sign-in is already on", code="two_factor_enabled")
    secret = pyotp.random_base32()
    scoped.execute(_SET.values(totp_secret=bindparam("secret"), totp_last_step=None),
                   {"member_id": member_id, "secret": secret})
    return secret


def qr_svg(secret: str, email: str, organization: str) -> str:
    """The otpauth:// URI as an inline SVG QR code."""
    uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=f"Telemetron ({organization})")
    return segno.make(uri, error="m").svg_inline(scale=4, border=2, title="Two-factor sign-in QR code")


def _step(secret: str, code: str, now: datetime) -> int | None:
    """The time step (-1, 0 or +1 around now) whose code this is, if any."""
    totp = pyotp.TOTP(secret)
    code = _normalized(code)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def enable(scoped: Scoped, member_id: str, code: str, now: datetime) -> list[str]:
    """Turn two-factor on with a code from the app; returns the recovery codes (shown once)."""
    pending = state(scoped, member_id)["pending_secret"]
    if pending is None:
        raise Conflict("Start setting up two-factor sign-in first", code="two_factor_not_started")
    step = _step(pending, code, now)
    if step is None:
        raise InvalidRequest("That code does not match: check the phone's clock and type the code it shows now",
                             field="code", code="invalid_code")
    scoped.execute(_SET.values(totp_enabled_at=bindparam("now"), totp_last_step=bindparam("step")),
                   {"member_id": member_id, "now": now, "step": step})
    codes = _new_recovery_codes(scoped, member_id)
    audit.record_scoped(scoped, "member.2fa_enabled", {"memberId": member_id})
    return codes


def _new_recovery_codes(scoped: Scoped, member_id: str) -> list[str]:
    scoped.execute(_DELETE_CODES, {"member_id": member_id})
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(16))  # ~79 bits
        codes.append("-".join(raw[i:i + 4] for i in range(0, 16, 4)))
        scoped.execute(_INSERT_CODE, {"member_id": member_id, "code_hash": _hash(raw), "used_at": None})
    return codes


def check(scoped: Scoped, member_id: str, code: str, now: datetime) -> str | None:
    """``totp`` or ``recovery_code`` when ``code`` is a good second factor for the member (and
    uses it up), else None."""
    row = scoped.execute(_STATE, {"member_id": member_id}).first()
    if row is None or row.totp_enabled_at is None or not code:
        return None
    step = _step(row.totp_secret, code, now)
    if step is not None:
        accepted = scoped.execute(_ACCEPT_STEP, {"member_id": member_id, "step": step}).rowcount == 1
        return "totp" if accepted else None
    used = scoped.execute(_USE_CODE, {"owner_id": member_id, "hashed": _hash(_normalized(code)), "now": now})
    return "recovery_code" if used.rowcount == 1 else None


def disable(scoped: Scoped, member_id: str) -> None:
    """Turn two-factor off (the caller has checked a current code); refused when required."""
    if required(scoped.conn, scoped.org_id):
        raise Conflict("Your organization requires two-factor sign-in: it cannot be turned off",
                       code="two_factor_required")
    _clear(scoped, member_id)
    audit.record_scoped(scoped, "member.2fa_disabled", {"memberId": member_id})


def reset(scoped: Scoped, member_id: str) -> None:
    """An admin turns a member's two-factor off (a lost phone and lost recovery codes); when the
    organization requires it, the member sets it up again at the next sign-in."""
    _clear(scoped, member_id)
    audit.record_scoped(scoped, "member.2fa_reset", {"memberId": member_id})


def _clear(scoped: Scoped, member_id: str) -> None:
    scoped.execute(_SET.values(totp_secret=None, totp_enabled_at=None, totp_last_step=None), {"member_id": member_id})
    scoped.execute(_DELETE_CODES, {"member_id": member_id})


def enabled_member_ids(scoped: Scoped) -> set[str]:
    return {r[0] for r in scoped.execute(_ENABLED)}


def required(conn: Connection, org_id: str) -> bool:
    return bool(conn.execute(_REQUIRED, {"org_id": org_id}).scalar_one_or_none())


def set_required(scoped: Scoped, value: bool) -> None:
    if required(scoped.conn, scoped.org_id) == value:
        return
    scoped.conn.execute(_SET_REQUIRED, {"org_id": scoped.org_id, "required": value})
    audit.record_scoped(scoped, "organization.2fa_required_changed", {"required": value})


def stage_after_password(conn: Connection, org_id: str, member_id: str) -> str:
    """What a right password leads to: a code (totp), setting two-factor up (enrol), or in (full)."""
    scoped = Scoped(None, conn, org_id)  # type: ignore[arg-type]
    if state(scoped, member_id)["enabled"]:
        return "totp"
    return "enrol" if required(conn, org_id) else "full"
