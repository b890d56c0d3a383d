"""Customers: the people tickets are about, one per (organization, email).

Emails are stored trimmed and lower-cased, so "John.Doe@Example.com " and "john.doe@example.com"
are the same customer on every database, and a unique index on (organization_id, email) makes
"create if missing" safe under any concurrency: the insert is ``ON CONFLICT DO NOTHING`` and the
loser of a race reads the winner's row.
"""

from __future__ import annotations

from functools import lru_cache

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import bindparam

from telemetron import ids
from telemetron.clock import utcnow
from telemetron.db.prepared import Prepared
from telemetron.db.scoped import Scoped, tenant_select, tenant_upsert_ignore
from telemetron.db.tables import customers
from telemetron.errors import InvalidRequest, NotFound

_COLUMNS = (customers.c.id, customers.c.email, customers.c.name)
_BY_ID = tenant_select(customers, *_COLUMNS).where(customers.c.id == bindparam("id"))
_BY_EMAIL = Prepared(tenant_select(customers, *_COLUMNS).where(customers.c.email == bindparam("email")))
_INSERT_IF_NEW = tenant_upsert_ignore(customers, "organization_id", "email", returning=[customers.c.id])


def normalize_email(raw: str, *, field: str = "customerEmail") -> str:
    """Trim, lower-case and check the syntax (no DNS lookup: it must work offline and fast)."""
    email = raw.strip().lower()
    if not email:
        raise InvalidRequest(f"{field} must not be empty", field=field, code="invalid_email")
    problem = _syntax_problem(email)
    if problem is not None:
        raise InvalidRequest(
            f"{field} is not a valid email address: {problem}", field=field, code="invalid_email"
        )
    return email


@lru_cache(maxsize=65536)
def _syntax_problem(email: str) -> str | None:
    """Cached: most tickets come from returning customers, and the check costs ~40 µs."""
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        return str(exc)
    return None


def default_name(email: str) -> str:
    return email.split("@", 1)[0]


def get_customer(scoped: Scoped, customer_id: str) -> dict:
    row = scoped.execute(_BY_ID, {"id": customer_id}).mappings().first()
    if row is None:
        raise NotFound(
            "Customer not found or does not belong to this organization",
            field="customerId",
            code="customer_not_found",
        )
    return dict(row)


def find_by_email(scoped: Scoped, email: str) -> dict | None:
    row = scoped.execute_prepared(_BY_EMAIL, {"email": email}).fetchone()
    return {"id": row[0], "email": row[1], "name": row[2]} if row else None


def get_or_create_by_email(scoped: Scoped, email: str, *, new_id: str | None = None) -> tuple[dict, bool]:
    """Return (customer, created). ``email`` must already be normalized; ``new_id`` is the id a new
    customer gets (a fresh one by default)."""
    existing = find_by_email(scoped, email)
    if existing is not None:
        return existing, False
    now = utcnow()
    new_id = new_id or ids.customer_id()
    row = {
        "id": new_id,
        "email": email,
        "name": default_name(email),
        "metadata": {},
        "created_at": now,
        "updated_at": now,
    }
    if scoped.execute(_INSERT_IF_NEW, row).first() is not None:
        return {"id": new_id, "email": email, "name": default_name(email)}, True
    # Another transaction created it between our read and our insert; it has committed by now
    # (PostgreSQL made our insert wait for it), so a fresh read sees it.
    winner = find_by_email(scoped, email)
    assert winner is not None
    return winner, False
