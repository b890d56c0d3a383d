"""Each organization's categorizer: its training data, its stored model, and when to retrain.

Training data is the organization's own and nobody else's (every query is tenant-scoped): its
active, AI-enabled categories (name, description, example phrases) and its labelled tickets, the
ones created with a category and the ones a person categorized or corrected (weighted more).
Models live in the database (``triage_models``), so every process and a restart find them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, func, or_, select

from telemetron.clock import utcnow
from telemetron.db.engine import Database
from telemetron.db.scoped import (
    Scoped,
    tenant_select,
    tenant_update_bound,
    tenant_upsert_ignore,
)
from telemetron.db.tables import (
    categories,
    organizations,
    ticket_messages,
    tickets,
    triage_models,
)
from telemetron.orgs.config_version import bump as bump_config_version

MAX_LABELLED_TICKETS = 20_000
#: The model trained in the server when a ticket first needs one (the organization has none
#: yet) learns from the category definitions and at most this many labelled tickets, in one
#: quick fit, so that the first ticket waits seconds, not minutes; the background retrainer
#: then trains it on all of them, calibrated, in a child process (``triage.trainer``).
BOOTSTRAP_MAX_TICKETS = 200
_c, _t, _m, _tm = categories.c, tickets.c, triage_models.c, ticket_messages.c

_AI_CATEGORIES = tenant_select(categories, _c.id, _c.name, _c.description, _c.examples, _c.updated_at).where(
    _c.active.is_(True), _c.ai_enabled.is_(True)
)
_IS_LABELLED = (_t.category_id.is_not(None), or_(_t.category_source == "provided", _t.category_corrected_at.is_not(None)))
_LABELLED = (
    tenant_select(tickets, _t.id, _t.title, _t.description, _t.description_generated, _t.category_id,
                  _t.category_corrected_at, _t.updated_at)
    .where(*_IS_LABELLED)
    .order_by(_t.updated_at.desc(), _t.id)
    .limit(bindparam("limit"))
)
# The customer's messages of those same tickets, in order: training reads the text prediction
# reads (title, description, customer's messages: ``triage.ticket_text``). Each message is cut
# at the length ticket_text keeps, so a huge conversation costs no more than that.
_labelled_ids = (
    tenant_select(tickets, _t.id).where(*_IS_LABELLED).order_by(_t.updated_at.desc(), _t.id)
    .limit(bindparam("limit")).subquery()
)
_CUSTOMER_MESSAGES = (
    tenant_select(ticket_messages, _tm.ticket_id, func.substr(_tm.content, 1, bindparam("max_chars")).label("content"))
    .join(_labelled_ids, _labelled_ids.c.id == _tm.ticket_id)
    .where(_tm.role == "customer")
    .order_by(_tm.ticket_id, _tm.position)
)
_MODEL = tenant_select(triage_models)
_MODEL_INFO = tenant_select(
    triage_models, _m.version, _m.engine, _m.example_count, _m.labelled_tickets, _m.categories_seen_at,
    _m.tickets_seen_at, _m.trained_at,
)
_CREATE_MODEL_ROW = tenant_upsert_ignore(triage_models, "organization_id")
_STORE_MODEL = tenant_update_bound(
    triage_models, "engine", "example_count", "labelled_tickets", "categories_seen_at", "tickets_seen_at",
    "trained_at", "model", prefix="v_",
).values(version=_m.version + 1)
_THRESHOLD = select(organizations.c.triage_threshold).where(organizations.c.id == bindparam("org"))


@dataclass
class TrainingData:
    categories: list  # triage.CategoryDef
    tickets: list  # triage.LabelledTicket
    categories_seen_at: datetime | None
    tickets_seen_at: datetime | None


def training_data(scoped: Scoped, max_tickets: int = MAX_LABELLED_TICKETS) -> TrainingData:
    """The organization's categories and its newest ``max_tickets`` labelled tickets, each read
    as a prediction reads a new ticket: title, the description its sender wrote (not one
    generated from the messages, which prediction never sees) and the customer's messages."""
    from telemetron.triage import CategoryDef, LabelledTicket
    from telemetron.triage.examples import MAX_TEXT_CHARS, ticket_text

    cats = scoped.execute(_AI_CATEGORIES).all()
    rows = scoped.execute(_LABELLED, {"limit": max_tickets}).all() if cats and max_tickets > 0 else []
    messages: dict[str, list[str]] = {}
    if rows:
        sizes: dict[str, int] = {}
        for m in scoped.execute(_CUSTOMER_MESSAGES, {"limit": max_tickets, "max_chars": MAX_TEXT_CHARS}):
            if sizes.get(m.ticket_id, 0) < MAX_TEXT_CHARS:  # ticket_text keeps no more
                messages.setdefault(m.ticket_id, []).append(m.content)
                sizes[m.ticket_id] = sizes.get(m.ticket_id, 0) + len(m.content)
    return TrainingData(
        categories=[CategoryDef(label=c.id, name=c.name, description=c.description or "", examples=list(c.examples or []))
                    for c in cats],
        tickets=[LabelledTicket(text=ticket_text(r.title, None if r.description_generated else r.description,
                                                 messages.get(r.id)),
                                label=r.category_id, corrected=r.category_corrected_at is not None) for r in rows],
        categories_seen_at=max((c.updated_at for c in cats), default=None),
        tickets_seen_at=max((r.updated_at for r in rows), default=None),
    )


def stored_model(scoped: Scoped) -> dict | None:
    row = scoped.execute(_MODEL).mappings().first()
    return dict(row) if row else None


def model_info(scoped: Scoped) -> dict | None:
    row = scoped.execute(_MODEL_INFO).mappings().first()
    return {str(k): v for k, v in row.items()} if row else None


def store_model(scoped: Scoped, model, data: TrainingData, example_count: int) -> None:
    now = utcnow()
    scoped.execute(_CREATE_MODEL_ROW, {"version": 0, "engine": "", "example_count": 0, "labelled_tickets": 0,
                                       "categories_seen_at": None, "tickets_seen_at": None, "trained_at": now,
                                       "model": b""})
    scoped.execute(_STORE_MODEL, {
        "v_engine": model.trained_engine, "v_example_count": example_count, "v_labelled_tickets": len(data.tickets),
        "v_categories_seen_at": data.categories_seen_at, "v_tickets_seen_at": data.tickets_seen_at,
        "v_trained_at": now, "v_model": model.to_bytes(),
    })
    bump_config_version(scoped)  # processes pick the new model up with the next ticket


def train_organization(db: Database, org_id: str, *, max_tickets: int = MAX_LABELLED_TICKETS,
                       quick: bool = False):
    """Read the organization's data, train (outside any transaction), store. Returns the model or None.

    The server calls this in a child process (``triage.trainer``), or in-process, ``quick``
    and with a small ``max_tickets``, for an organization's first model: one fit, with the
    fixed calibration used when there is nothing to hold out (a BANKING77-size organization:
    ~4.5 s of CPU instead of ~30 s with its 200 newest tickets). Such a model, when it had
    labelled tickets to learn from, is stored as not having seen the categories yet, so that
    the background retrainer soon trains it on all of them, calibrated, in a child process."""
    from telemetron.triage import build_examples, train

    capped = max_tickets < MAX_LABELLED_TICKETS  # then one more is read: were some left out?
    data = db.read_sync(lambda conn: training_data(Scoped(db, conn, org_id), max_tickets + capped))
    if not data.categories:
        return None
    if capped and len(data.tickets) > max_tickets:
        data.tickets = data.tickets[:max_tickets]
        data.categories_seen_at = None
    if quick and data.tickets:
        data.categories_seen_at = None
    if data.categories_seen_at is None:
        data.tickets_seen_at = None
    examples = build_examples(data.categories, data.tickets)
    model = train(examples, calibrate="prior" if quick else True)
    db.run_sync(lambda conn: store_model(Scoped(db, conn, org_id), model, data, len(examples)))
    return model


_MODELS = select(_m.organization_id, _m.categories_seen_at, _m.tickets_seen_at, _m.trained_at)
_NEWEST_CATEGORY = select(func.max(_c.updated_at)).where(
    _c.organization_id == bindparam("org"), _c.active.is_(True), _c.ai_enabled.is_(True))
# A ticket labelled since ``since``: a range of the (organization, updated_at) index, read from
# the newest end, so the check costs the tickets changed since then, not the organization's all.
_NEW_LABEL = (
    select(_t.id)
    .where(_t.organization_id == bindparam("org"), _t.updated_at > bindparam("since"), *_IS_LABELLED)
    .limit(1)
)
#: Changes commit within seconds of the time they carry: a check reads again this far back.
CHECK_OVERLAP = timedelta(minutes=5)


def organizations_to_retrain(conn: Connection, checked: dict[str, datetime] | None = None) -> list[str]:
    """Organizations whose categories or labelled tickets changed since their model was trained.

    Only organizations that already have a model: the first one is trained when a ticket first
    needs the AI, so a server whose clients always send a category never loads the model.
    ``checked`` (kept by the caller between checks) remembers up to when each organization's
    tickets were read, so a check every 30 s reads only the tickets changed since the last one
    (plus ``CHECK_OVERLAP``), at any number of tickets. A maintenance query across organizations."""
    now = utcnow()
    settled = now - timedelta(minutes=1)
    due = []
    for org, categories_seen, tickets_seen, trained_at in conn.execute(_MODELS).all():
        newest_category = conn.execute(_NEWEST_CATEGORY, {"org": org}).scalar()
        if newest_category is None:
            continue
        if categories_seen is None or newest_category > categories_seen:
            due.append(org)
            continue
        # New labels count once they are a minute old: a burst of tickets is learnt in one go.
        if trained_at >= settled:
            continue
        since = max(tickets_seen or trained_at, (checked or {}).get(org, tickets_seen or trained_at))
        if conn.execute(_NEW_LABEL, {"org": org, "since": since}).first() is not None:
            due.append(org)
        elif checked is not None:
            checked[org] = max(since, now - CHECK_OVERLAP)
    return due


def threshold_of(conn: Connection, org_id: str) -> float | None:
    return conn.execute(_THRESHOLD, {"org": org_id}).scalar()
