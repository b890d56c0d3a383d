"""The schema, as SQLAlchemy Core tables.

Core rather than the ORM: the intake path runs a handful of statements per ticket and has a budget
of a few hundred microseconds, which the ORM's unit-of-work bookkeeping would take on its own.
Every tenant-owned table carries ``organization_id``; ``telemetron.db.scoped`` is the one place
that filters on it. Migrations (``db/migrations``) are the source of truth for the database; these
definitions must match them (``tests/db/test_migrations.py`` checks).
"""

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator

# The last timestamp bound on SQLite and its text: ``(datetime, str)``, replaced whole (a tuple, so
# a thread reading it never sees half of one). Compared by identity: datetimes are immutable.
_last_sqlite_text: tuple = (None, None)


def _remember_sqlite_text(value: datetime, text: str) -> None:
    global _last_sqlite_text
    _last_sqlite_text = (value, text)


class UTCDateTime(TypeDecorator):
    """A timestamp that is always timezone-aware UTC in Python, on SQLite as on PostgreSQL.

    SQLite has no time zone type and hands back naive datetimes; mixing them with aware ones
    fails at comparison time, far from the cause.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def bind_processor(self, dialect):
        """On SQLite, the text SQLAlchemy would store ("2026-01-31 09:30:00.000000", UTC), made in
        one ``isoformat`` instead of a %-format of seven fields after ``process_bind_param``: a
        createTicket binds 3-6 timestamps, and this is ~1 µs each instead of ~2.5."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        general = super().bind_processor(dialect)

        def process(value):
            if value.__class__ is not datetime:
                return general(value)  # None, a date, a subclass: the general way
            last = _last_sqlite_text  # one unit binds the same ``now`` 3-7 times (ticket, messages, outbox)
            if last[0] is value:
                return last[1]
            tz = value.tzinfo
            text = (value.astimezone(UTC) if tz is not None and tz is not UTC else value).isoformat(" ", "microseconds")[:26]
            _remember_sqlite_text(value, text)
            return text  # without the "+00:00"

        return process

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

organizations = Table(
    "organizations",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(255), nullable=False),
    # Bumped in the same transaction as any change to routing rules or notification settings,
    # and read with the API key: lets each process cache that configuration safely
    # (telemetron.orgs.config).
    Column("config_version", Integer, nullable=False, default=0, server_default="0"),
    # Below this confidence the categorizer answers "none" (NULL: the engine's default).
    Column("triage_threshold", Float),
    # Members must sign in with a second factor (those without one are sent to set it up).
    Column("require_2fa", Boolean, nullable=False, default=False, server_default=text("false")),
    Column("created_at", UTCDateTime(), nullable=False),
    # The organization's own API rate limit (`limits` notation, or "off"); NULL: the server's.
    Column("rate_limit", String(200)),
    # The last per-organization ticket number given ([#N] in email subjects, shown in the web app);
    # on PostgreSQL a sequence counts instead (tickets/numbers.py).
    Column("last_ticket_number", Integer, nullable=False, default=0, server_default="0"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("organization_id", String(32), ForeignKey("organizations.id"), nullable=False, index=True),
    Column("name", String(255), nullable=False),
    # First characters of the key, shown in listings so an admin can tell keys apart.
    Column("prefix", String(16), nullable=False),
    # SHA-256 of the whole key: keys are 256-bit random, so a fast hash is enough (no salt needed).
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_used_at", UTCDateTime()),
    Column("revoked_at", UTCDateTime()),
)

customers = Table(
    "customers",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("organization_id", String(32), ForeignKey("organizations.id"), nullable=False),
    # Stored trimmed and lower-cased, so equality is case-insensitive on every database.
    Column("email", String(320), nullable=False),
    Column("name", String(255), nullable=False),
    Column("phone", String(64)),
    Column("address", Text),
    Column("metadata", JSON, nullable=False, default=dict),
    # Telemetron categories label customers and devices too (routing rules match on them).
    Column("category_id", String(32), ForeignKey("categories.id")),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("organization_id", "email", name="uq_customers_organization_id_email"),
)

categories = Table(
    "categories",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("organization_id", String(32), ForeignKey("organizations.id"), nullable=False),
    Column("name", String(255), nullable=False),
    # lower(trim(name)): names are unique per organization ignoring case, and matched that way.
    Column("name_key", String(255), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("active", Boolean, nullable=False, default=True),
    Column("ai_enabled", Boolean, nullable=False, default=True),
    Column("auto_resolve", Boolean, nullable=False, default=False),
    # Example phrases an admin adds: with the description, what the categorizer learns first.
    Column("examples", JSON, nullable=False, default=list, server_default="[]"),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("organization_id", "name_key", name="uq_categories_organization_id_name_key"),
)

members = Table(
    "members",
    metadata,
    # Team members (agents): tickets are assigned to them, by hand or by routing rules.
    Column("id", String(32), primary_key=True),
    Column("organization_id", String(32), ForeignKey("organizations.id"), nullable=False),
    Column("email", String(320), nullable=False),
    Column("name", String(255), nullable=False),
    Column("available", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    # agent | admin: what the member may do in the web app (admins also manage the organization).
    Column("role", String(16), nullable=False, default="agent", server_default="agent"),
    # scrypt hash (telemetron.members.auth); NULL: the member cannot sign in to the web app.
    Column("password_hash", String(255)),
    # TOTP two-factor sign-in (telemetron.members.twofactor). The secret is kept in clear because
    # checking a code needs it (as a webhook's signing secret); never shown again after enrolment.
    # Set with enabled_at NULL: enrolment started, not confirmed yet.
    Column("totp_secret", String(64)),
    Column("totp_enabled_at", UTCDateTime()),
    # The time step of the last code accepted: a code is good once (no replay).
    Column("totp_last_step", Integer),
    UniqueConstraint("organization_id", "email", name="uq_members_organization_id_email"),
)

member_sessions = Table(
    "member_sessions",
    metadata,
    # SHA-256 of the session cookie's random token: a stolen database holds no usable session.
    # Looked up unscoped (like an API key): the session is how the organization is found.
    Column("token_hash", String(64), primary_key=True),
    Column("organization_id", String(32), ForeignKey("organizations.id"), nullable=False),
    Column("member_id", String(32), ForeignKey("members.id"), nullable=False, index=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_seen_at", UTCDateTime(), nullable=False),
    # Idle expiry, pushed forward as the member uses the app, never past an absolute limit.
    Column("expires_at", UTCDateTime(), nullable=False, index=True),
    # full | totp (the password was right, a code is still needed) | enrol (two-factor must be
    # set up first): only a full session opens the app's pages.
    Column("stage", String(16), nullable=False, default="full", server_default="full"),
)

devices = Table(
    "devices",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("organization_id", String(32), ForeignKey("organizations.id"), nullable=False),
    # The client's own name for the device (serial number, MAC...), trimmed; unique per organization.
    Column("identifier", String(255), nullable=False),
    Column("type", String(255), nullable=False),
    Column("properties", JSON, nullable=False, default=dict),
    # Replaced whole by bulk-metadata, as Telemetron does.
    Column("metadata", JSON, nullable=False, default=dict),
    Column("category_id", String(32), ForeignKey("categories.id")),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("organization_id", "identifier", name="uq_devices_organization_id_identifier"),
)

device_owners = Table(
    "device_owners",
    metadata,
    Column("organization_id", String(32), ForeignKey("organizations.id"), nullable=False),
    Column("device_id", String(32), ForeignKey("devices.id"), primary_key=True),
    Column("customer_id", String(32), ForeignKey("customers.id"), primary_key=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_device_owners_customer_id", "customer_id"),
)

tickets = Table(
    "tickets",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("organization_id", String(32), ForeignKey("organizations.id"), nullable=False),
    Column("customer_id", String(32), ForeignKey("customers.id"), nullable=False),
    Column("title", String(255), nullable=False),
    Column("description", Text, nullable=False, default=""),
    # True when the description was written from the messages, not given by the client.
    Column("description_generated", Boolean, nullable=False, default=False),
    Column("priority", String(16), nullable=False),
    Column("status", String(32), nullable=False),
    Column("category_id", String(32), ForeignKey("categories.id")),
    # provided | ai | none: how the category was chosen.
    Column("category_source", String(16), nullable=False),
    Column("category_confidence", Float),
    # The categorizer's top three [{"category", "score"}], for explaining its choice.
    Column("category_candidates", JSON),
    # When a person set or corrected the category after creation: a stronger training signal.
    Column("category_corrected_at", UTCDateTime()),
    Column("assignee_id", String(32), ForeignKey("members.id")),
    Column("resolved_at", UTCDateTime()),
    # Which routing rule routed the ticket and why, in words an admin can read.
    Column("routed_by_rule_id", String(32), ForeignKey("routing_rules.id")),
    Column("routing_reason", Text),
    # The Slack channel a routing rule chose for this ticket: its replies and status changes go
    # there too, not only the new-ticket message (NULL: the organization's default channel).
    Column("slack_channel", Text),
    Column("tags", JSON, nullable=False, default=list, server_default="[]"),
    Column("created_at", UTCDateTime(), nullable=False),
    # The last activity: any message or change (tickets.update moves it).
    Column("updated_at", UTCDateTime(), nullable=False),
    # When the customer last wrote, and since when the customer has been waiting for an answer
    # (they wrote last; NULL once an agent or a bot answered): the list's "waiting on us".
    Column("last_customer_message_at", UTCDateTime()),
    Column("waiting_since", UTCDateTime()),
    # Keyset pagination of queryTickets: (organization, time, id) in order, for both time filters.
    Index("ix_tickets_organization_id_created_at", "organization_id", "created_at", "id"),
    Index("ix_tickets_organization_id_updated_at", "organization_id", "updated_at", "id"),
    # The organization's own ticket number (1, 2, ...): [#N] in email subjects.
    Column("number", Integer),
    # The mailbox an email ticket came in by: agents' public replies go out through it.
    Column("mailbox_id", String(32), ForeignKey("mailboxes.id")),
    Index("ix_tickets_organization_id_number", "organization_id", "number", unique=True),
    # A filter that matches few tickets ("Needs triage" with none, a rare status, one agent's
    # tickets) seeks its own index instead of reading every ticket of the organization in order.
    Index("ix_tickets_category_updated", "organization_id", "category_id", "updated_at", "id"),
    Index("ix_tickets_category_created", "organization_id", "category_id", "created_at", "id"),
    Index("ix_tickets_status_updated", "organization_id", "status", "updated_at", "id"),
    Index("ix_tickets_assignee_updated", "organization_id", "assignee_id", "updated_at", "id"),
    Index("ix_tickets_priority_updated", "organization_id", "priority", "updated_at", "id"),
    # A customer's tickets, newest first (their page, a ticket page's sidebar): without it the
    # planner walks every open ticket of the organization looking for theirs.
    Index("ix_tickets_customer_created", "organization_id", "customer_id", "created_at", "id"),
    # The web list's default ("not resolved"): few tickets once most are resolved.
    Index("ix_tickets_unresolved_updated", "organization_id", "updated_at", "id",
          sqlite_where=text("status <> 'resolved'"), postgresql_where=text("status <> 'resolved'")),
    Index("ix_tickets_unresolved_created", "organization_id", "created_at", "id",
          sqlite_where=text("status <> 'resolved'"), postgresql_where=text("status <> 'resolved'")),
)

ticket_messages = Table(
    "ticket_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("organization_id", String(32), ForeignKey("organizations.id"), nullable=False),
    Column("ticket_id", String(36), ForeignKey("tickets.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("role", String(16), nullable=False),
    Column("content", Text, nullable=False),
    # The team member who wrote an agent message in the web app (the API's callers are API keys).
    Column("author_member_id", String(32), ForeignKey("members.id")),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("ticket_id", "position", name="uq_ticket_messages_ticket_id_position"),
    # public | internal (an agents' note: never emailed, never in a webhook or Slack message).
    Column("visibility", String(16), nullable=False, default="public", server_default="public"),
    # api | email | web: how the message came in (or, for an agent's reply, where it was written).
    Column("channel", String(16), nullable=False, default="api", server_default="api"),
    # The RFC 5322 Message-ID of the mail it came in as or went out as (threading, duplicates).
    Column("email_message_id", String(998)),
    # pending | sent | failed: the outgoing mail of an agent's reply (NULL: nothing to send).
    Column("delivery_state", String(16)),
    Column("delivery_error", Text),
    # How an incoming mail was matched to its ticket, in words an agent can read.
    Column("thread_reason", Text),
    # An incoming mail's whole text, quotes and signature included (content is the trimmed reply).
    Column("original_content", Text),
    # The raw mail as received, a file under the attachments folder.
    Column("email_source", Text),
    Index("ix_ticket_messages_organization_id_email_message_id", "organization_id", "email_message_id", unique=True),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("organization_id", String(32), ForeignKey("organizations.id"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("endpoint", String(64), nullable=False),
    # SHA-256 of the canonical JSON body: the same key with another body is a client bug (422).
    Column("request_hash", String(64), nullable=False),
    Column("response_status", Integer, nullable=False),
    Column("response_body", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False, index=True),
)


teams = Table(
    "teams",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("organization_id", String(32), ForeignKey("organizations.id"), nullable=False),
    Column("name", String(255), nullable=False),
    # round_robin | least_open: how a rule that assigns to the team picks the member.
    Column("strategy", String(16), nullable=False),
    # round_robin's position: the id of the member who got the last ticket.
    Column("last_assigned_member_id", String(32)),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("organization_id", "name", name="uq_teams_organization_id_name"),
)

team_members = Table(
    "team_members",
    metadata,
    Column("organization_id", String(32), ForeignKey("organizations.id"), nullable=False),
    Column("team_id", String(32), ForeignKey("teams.id"), primary_key=True),
    Column("member_id", String(32), ForeignKey("members.id"), primary_key=True),
)

routing_rules = Table(
    "routing_rules",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("organization_id", String(32), ForeignKey("organizations.id"), nullable=False),
    Column("name", String(255), nullable=False),
    # Lower runs first (a rule's "priority" in the ext-v1 specification).
    Column("position", Integer, nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    # {"ticketCategory": [...], "customerCategory": [...], "deviceCategory": [...], "priority": [...],
    #  "emailDomain": [...], "keywords": [...]}: every condition given must match.
    Column("conditions", JSON, nullable=False),
    # {"assignMember": id, "assignTeam": id, "setPriority": p, "addTags": [...], "slackChannel": "#c"}
    Column("actions", JSON, nullable=False),
    # The first matching rule wins unless it says to go on to the next ones.
    Column("continue_matching", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_routing_rules_organization_id_position", "organization_id", "position"),
)

notification_settings = Table(
    "notification_settings",
    metadata,
    Column("organization_id", String(32), ForeignKey("organizations.id"), primary_key=True),
    # A secret (it lets anyone post to the channel): never logged, shown masked.
    Column("slack_webhook_url", Text),
    # Where the links in notifications point (the web app's public URL).
    Column("public_url", Text),
    # Where Slack messages go when no routing rule names a channel (legacy incoming webhooks
    # honour it; an app's webhook posts to its own channel).
    Column("slack_channel", String(81)),
    Column("updated_at", UTCDateTime(), nullable=False),
)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("organization_id", String(32), ForeignKey("organizations.id"), nullable=False),
    Column("url", Text, nullable=False),
    # HMAC-SHA256 signing secret; kept in clear because signing needs it (as Stripe does).
    Column("secret", String(128), nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime(), nullable=False),
    # After a rotation with an overlap, the replaced secret still signs (a second v1 signature)
    # until this time, so a receiver can switch without missing a delivery.
    Column("previous_secret", String(128)),
    Column("previous_secret_expires_at", UTCDateTime()),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("organization_id", String(32), ForeignKey("organizations.id"), nullable=False),
    # slack | webhook
    Column("channel", String(16), nullable=False),
    # ticket.created | ticket.customer_replied | ticket.status_changed
    Column("event", String(64), nullable=False),
    Column("ticket_id", String(36)),
    # The webhook endpoint's id for webhooks; for Slack the URL is read at delivery time.
    Column("target", String(255)),
    Column("payload", JSON, nullable=False),
    # pending | delivered | failed
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    # A claim is a lease: a worker that dies mid-delivery loses it when it expires.
    Column("claimed_by", String(64)),
    Column("claimed_until", UTCDateTime()),
    Column("last_error", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("delivered_at", UTCDateTime()),
    Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    # An organization's deliveries, newest first (``outbox list``). Deliveries only: they are
    # written by the worker, so the request path, which writes event rows, maintains one index
    # (the claims') instead of two. Its pending or failed events are found through that one.
    Index("ix_outbox_deliveries_by_organization", "organization_id", "id",
          sqlite_where=text("channel <> 'event'"), postgresql_where=text("channel <> 'event'")),
    # A webhook endpoint's recent deliveries (the admins' notifications page), newest first.
    Index("ix_outbox_webhook_deliveries", "organization_id", "target", "id",
          sqlite_where=text("channel = 'webhook'"), postgresql_where=text("channel = 'webhook'")),
)

outbox_attempts = Table(
    "outbox_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", Integer, ForeignKey("outbox.id"), nullable=False, index=True),
    Column("worker", String(64), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("duration_ms", Float, nullable=False),
    Column("status_code", Integer),
    # delivered | retry | failed
    Column("outcome", String(16), nullable=False),
    Column("error", Text),
)


triage_models = Table(
    "triage_models",
    metadata,
    # One trained categorizer per organization, in the database so that every process and a
    # restart find it (trained only from that organization's own categories and tickets).
    Column("organization_id", String(32), ForeignKey("organizations.id"), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("engine", String(32), nullable=False),
    Column("example_count", Integer, nullable=False),
    Column("labelled_tickets", Integer, nullable=False),
    # Newest category change and newest labelled ticket the model has seen: retrain when newer.
    Column("categories_seen_at", UTCDateTime()),
    Column("tickets_seen_at", UTCDateTime()),
    Column("trained_at", UTCDateTime(), nullable=False),
    Column("model", LargeBinary, nullable=False),
)


signin_throttle = Table(
    "signin_throttle",
    metadata,
    # Sign-in attempts counted before their password is checked (telemetron.members.throttle):
    # "email:<sha256 of the email>" (a member's or not: both are throttled alike) and "addr:<client
    # address>". In the database so that every server process shares them; not tenant-owned (the
    # email is how the organization is found).
    Column("key", String(80), primary_key=True),
    Column("failures", Integer, nullable=False, default=0, server_default="0"),
    Column("locked_until", UTCDateTime()),
    # An address's attempts are counted per window (a fixed window starting with its first attempt).
    Column("window_started_at", UTCDateTime()),
    Column("updated_at", UTCDateTime(), nullable=False, index=True),
)


audit_events = Table(
    "audit_events",
    metadata,
    # Who changed what in an organization (telemetron.audit), written in the change's transaction.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("organization_id", String(32), ForeignKey("organizations.id"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    # member | cli | anonymous (a sign-in attempt) | system
    Column("actor_kind", String(16), nullable=False),
    Column("actor_id", String(32)),
    Column("actor_label", String(320), nullable=False),
    Column("client_address", String(64)),
    # e.g. signin.failed, member.role_changed, api_key.created, category.updated
    Column("action", String(64), nullable=False),
    # What changed, never a secret (audit.record refuses secret-named fields).
    Column("details", JSON, nullable=False),
    Index("ix_audit_events_organization_id_id", "organization_id", "id"),
)


member_recovery_codes = Table(
    "member_recovery_codes",
    metadata,
    # One-time codes that stand in for a TOTP code (a lost phone): only their SHA-256 is kept (80
    # random bits each, so a fast hash is enough, as for API keys).
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("organization_id", String(32), ForeignKey("organizations.id"), nullable=False),
    Column("member_id", String(32), ForeignKey("members.id"), nullable=False, index=True),
    Column("code_hash", String(64), nullable=False),
    Column("used_at", UTCDateTime()),
)

mailboxes = Table(
    "mailboxes",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("organization_id", String(32), ForeignKey("organizations.id"), nullable=False),
    # Stored lower-cased; one mailbox belongs to one organization.
    Column("address", String(320), nullable=False),
    # smtp(s):// and imap(s):// URLs with credentials, encrypted (Fernet, TELEMETRON_SECRET_KEY).
    Column("smtp_url", Text, nullable=False),
    Column("imap_url", Text),
    # SHA-256 of the secret forwarders send as a Bearer token to /api/inbound/email.
    Column("inbound_secret_hash", String(64), nullable=False),
    # Where IMAP polling stopped: a UID is only meaningful within its UIDVALIDITY.
    Column("imap_uidvalidity", BigInteger),
    Column("imap_last_uid", BigInteger),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("address", name="uq_mailboxes_address"),
    UniqueConstraint("inbound_secret_hash", name="uq_mailboxes_inbound_secret_hash"),
    Index("ix_mailboxes_organization_id", "organization_id"),
)

attachments = Table(
    "attachments",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("organization_id", String(32), ForeignKey("organizations.id"), nullable=False),
    Column("ticket_id", String(36), ForeignKey("tickets.id"), nullable=False),
    Column("message_id", Integer, ForeignKey("ticket_messages.id"), nullable=False),
    # Sanitized: no path, no control characters.
    Column("filename", String(255), nullable=False),
    Column("content_type", String(255), nullable=False),
    Column("size", Integer, nullable=False),
    # Relative to the attachments folder (TELEMETRON_ATTACHMENTS_DIR).
    Column("path", Text, nullable=False),
    # An image shown inside the mail's HTML (Content-ID): listed like any attachment.
    Column("inline", Boolean, nullable=False, default=False, server_default=text("false")),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_attachments_ticket_id", "ticket_id"),
)


# --- the agents' workspace: canned replies and macros, saved views, who is on a ticket ---------

macros = Table(
    "macros",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("organization_id", String(32), ForeignKey("organizations.id"), nullable=False),
    Column("name", String(255), nullable=False),
    # The reply, with {{customer_name}}, {{ticket_number}}, {{agent_name}} placeholders ("" : none).
    Column("content", Text, nullable=False, default=""),
    # Field changes: {"status", "priority", "category", "assignee" ("me" or a member id), "tags"}.
    Column("actions", JSON, nullable=False, default=dict),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("organization_id", "name", name="uq_macros_organization_id_name"),
)

saved_views = Table(
    "saved_views",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("organization_id", String(32), ForeignKey("organizations.id"), nullable=False),
    Column("member_id", String(32), ForeignKey("members.id"), nullable=False),
    Column("name", String(255), nullable=False),
    # The list's query string (filters only, no page cursor): new filters need no schema change.
    Column("query", Text, nullable=False),
    # Shared views are offered to the whole organization, personal ones to their owner only.
    Column("shared", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_saved_views_organization_id_member_id", "organization_id", "member_id"),
)

ticket_presence = Table(
    "ticket_presence",
    metadata,
    # Who has a ticket open, and whether they are writing: in the database so that every API
    # process sees every agent. A row older than a few polls is gone (the page was closed).
    Column("organization_id", String(32), ForeignKey("organizations.id"), nullable=False),
    Column("ticket_id", String(36), primary_key=True),
    Column("member_id", String(32), ForeignKey("members.id"), primary_key=True),
    Column("replying", Boolean, nullable=False, default=False),
    Column("seen_at", UTCDateTime(), nullable=False),
)
ticket_seen = Table(
    "ticket_seen",
    metadata,
    # When a member last opened a ticket: its customer messages newer than that are unseen by them.
    Column("organization_id", String(32), ForeignKey("organizations.id"), nullable=False),
    Column("member_id", String(32), ForeignKey("members.id"), primary_key=True),
    Column("ticket_id", String(36), ForeignKey("tickets.id"), primary_key=True),
    Column("seen_at", UTCDateTime(), nullable=False),
)

#: The full-text search index (``tickets.search``) is not declared here: an FTS5 virtual table on
#: SQLite, a table with a ``tsvector`` and a GIN index on PostgreSQL, made by migration 0014.
SEARCH_INDEX_NAME = "ticket_search"


def declared_here(name: str | None, type_: str, _parent_names=None) -> bool:
    """Alembic's ``include_name``: leave out the search index's tables (and FTS5's shadow tables)."""
    return not (type_ == "table" and name is not None and name.startswith(SEARCH_INDEX_NAME))
