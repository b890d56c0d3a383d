"""Each organization's categorizer: its training data, its stored model, and when to retrain.

Training data is the organization's own and nobody else's (every query is tenant-scoped): its
active, AI-enabled categories (name, description, example phrases) and its labelled tickets, the
ones created with a category and the ones a person categorized or corrected (weighted more).
Models live in the database (``triage_models``), so every process and a restart find them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, func, or_, select

from telemetron.db.engine import Database, utcnow
from telemetron.db.scoped import Scoped, tenant_select, tenant_update, tenant_upsert_ignore
from telemetron.db.tables import categories, organizations, tickets, triage_models
from telemetron.orgs import config as org_config

MAX_LABELLED_TICKETS = 20_000
_c, _t, _m = categories.c, tickets.c, triage_models.c

_AI_CATEGORIES = tenant_select(categories, _c.id, _c.name, _c.description, _c.examples, _c.updated_at).where(
    _c.active.is_(True), _c.ai_enabled.is_(True)
)
_LABELLED = (
    tenant_select(tickets, _t.id, _t.title, _t.description, _t.category_id, _t.category_corrected_at, _t.updated_at)
    .where(_t.category_id.is_not(None), or_(_t.category_source == "provided", _t.category_corrected_at.is_not(None)))
    .order_by(_t.updated_at.desc())
    .limit(MAX_LABELLED_TICKETS)
)
_MODEL = tenant_select(triage_models)
_MODEL_INFO = tenant_select(
    triage_models, _m.version, _m.engine, _m.example_count, _m.labelled_tickets, _m.categories_seen_at,
    _m.tickets_seen_at, _m.trained_at,
)
_CREATE_MODEL_ROW = tenant_upsert_ignore(triage_models, "organization_id")
_STORE_MODEL = tenant_update(triage_models).values(
    version=_m.version + 1,
    engine=bindparam("v_engine"),
    example_count=bindparam("v_example_count"),
    labelled_tickets=bindparam("v_labelled"),
    categories_seen_at=bindparam("v_categories_seen_at"),
    tickets_seen_at=bindparam("v_tickets_seen_at"),
    trained_at=bindparam("v_trained_at"),
    model=bindparam("v_model"),
)
_THRESHOLD = select(organizations.c.triage_threshold).where(organizations.c.id == bindparam("org"))


@dataclass
class TrainingData:
    categories: list  # triage.CategoryDef
    tickets: list  # triage.LabelledTicket
    categories_seen_at: datetime | None
    tickets_seen_at: datetime | None


def training_data(scoped: Scoped) -> TrainingData:
    from telemetron.triage import CategoryDef, LabelledTicket, ticket_text

    cats = scoped.execute(_AI_CATEGORIES).all()
    rows = scoped.execute(_LABELLED).all() if cats else []
    return TrainingData(
        categories=[CategoryDef(label=c.id, name=c.name, description=c.description or "", examples=list(c.examples or []))
                    for c in cats],
        tickets=[LabelledTicket(text=ticket_text(r.title, r.description), label=r.category_id,
                                corrected=r.category_corrected_at is not None) for r in rows],
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
        "v_engine": model.trained_engine, "v_example_count": example_count, "v_labelled": len(data.tickets),
        "v_categories_seen_at": data.categories_seen_at, "v_tickets_seen_at": data.tickets_seen_at,
        "v_trained_at": now, "v_model": model.to_bytes(),
    })
    org_config.bump(scoped)  # processes pick the new model up with the next ticket


def train_organization(db: Database, org_id: str):
    """Read the organization's data, train (outside any transaction), store. Returns the model or None."""
    from telemetron.triage import build_examples, train

    data = db.run_sync(lambda conn: training_data(Scoped(db, conn, org_id)))
    if not data.categories:
        return None
    examples = build_examples(data.categories, data.tickets)
    model = train(examples)
    db.run_sync(lambda conn: store_model(Scoped(db, conn, org_id), model, data, len(examples)))
    return model


def organizations_to_retrain(conn: Connection) -> list[str]:
    """Organizations whose categories or labelled tickets changed since their model was trained.

    Only organizations that already have a model: the first one is trained when a ticket first
    needs the AI, so a server whose clients always send a category never loads the model.
    A maintenance query across organizations."""
    changed_categories = (
        select(categories.c.organization_id, func.max(categories.c.updated_at).label("seen"))
        .where(categories.c.active.is_(True), categories.c.ai_enabled.is_(True))
        .group_by(categories.c.organization_id)
        .subquery()
    )
    newest_label = (
        select(tickets.c.organization_id, func.max(tickets.c.updated_at).label("seen"))
        .where(tickets.c.category_id.is_not(None),
               or_(tickets.c.category_source == "provided", tickets.c.category_corrected_at.is_not(None)))
        .group_by(tickets.c.organization_id)
        .subquery()
    )
    stmt = (
        select(changed_categories.c.organization_id)
        .join(triage_models, triage_models.c.organization_id == changed_categories.c.organization_id)
        .join(newest_label, newest_label.c.organization_id == changed_categories.c.organization_id, isouter=True)
        .where(
            or_(
                triage_models.c.categories_seen_at.is_(None),
                changed_categories.c.seen > triage_models.c.categories_seen_at,
                # New labels count once they are a minute old: a burst of tickets is learnt in one go.
                (newest_label.c.seen > func.coalesce(triage_models.c.tickets_seen_at, triage_models.c.trained_at))
                & (triage_models.c.trained_at < bindparam("settled")),
            )
        )
    )
    from datetime import timedelta

    return [r[0] for r in conn.execute(stmt, {"settled": utcnow() - timedelta(minutes=1)}).all()]


def threshold_of(conn: Connection, org_id: str) -> float | None:
    return conn.execute(_THRESHOLD, {"org": org_id}).scalar()
