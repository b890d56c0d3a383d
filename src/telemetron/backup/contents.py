"""What an organization export holds, table by table, and what it leaves out (never a secret).

The tables are listed in an order that satisfies their foreign keys, which is also the order of
an export's lines and of an import's inserts. Left out:

- API keys (their hashes), web sessions, members' password hashes, two-factor secrets and
  recovery codes, and sign-in lockouts: members are imported without a password or two-factor
  (``telemetron member password`` gives them one) and the organization gets new keys
  (``telemetron apikey create``);
- mailboxes (their SMTP/IMAP credentials and inbound secret): add them again with ``telemetron
  mailbox add``; an imported email ticket keeps its messages and number but no mailbox, so agents'
  replies to it are not emailed until a new email from the customer joins it. Attachments' rows are
  exported; their files are not: copy the attachments folder beside the export;
- the audit log (it tells what happened in this database, not the organization's data), who is
  viewing a ticket and who has seen which (per-session states);
- the Slack webhook URL and the webhook endpoints (URL and signing secret): set them again with
  ``telemetron slack set`` and ``telemetron webhook add``; the public URL and Slack's default
  channel are kept;
- the outbox (notifications waiting or sent), idempotency keys (they expire within a day), the
  trained categorizer (retrained from the imported categories and tickets), the configuration
  cache counter.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Table

from telemetron.db import tables as t


@dataclass(frozen=True)
class Part:
    kind: str  # the ``type`` of its export lines
    table: Table
    left_out: frozenset[str] = frozenset()

    @property
    def columns(self) -> list:
        return [c for c in self.table.columns if c.name not in self.left_out]


PARTS = [
    Part("organization", t.organizations, frozenset({"config_version"})),
    Part("category", t.categories),
    Part("member", t.members, frozenset({"password_hash", "totp_secret", "totp_enabled_at", "totp_last_step"})),
    Part("team", t.teams),
    Part("team_member", t.team_members),
    Part("routing_rule", t.routing_rules),
    Part("customer", t.customers),
    Part("device", t.devices),
    Part("device_assignment", t.device_owners),
    Part("ticket", t.tickets, frozenset({"mailbox_id"})),
    Part("message", t.ticket_messages),
    Part("attachment", t.attachments),
    Part("macro", t.macros),
    Part("saved_view", t.saved_views),
    Part("notification_settings", t.notification_settings, frozenset({"slack_webhook_url"})),
]
BY_KIND = {part.kind: part for part in PARTS}
NOT_EXPORTED = ["api_keys", "member_sessions", "members.password_hash", "notification_settings.slack_webhook_url",
                "webhook_endpoints", "outbox", "outbox_attempts", "idempotency_keys", "triage_models",
                "members.totp_secret", "member_recovery_codes", "signin_throttle", "mailboxes", "tickets.mailbox_id",
                "audit_events", "ticket_presence", "ticket_seen"]
FORMAT = 1
HEADER = "telemetron-export"
