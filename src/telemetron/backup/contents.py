"""What an organization export holds, table by table, and what it leaves out (never a secret).

The tables are listed in an order that satisfies their foreign keys, which is also the order of
an export's lines and of an import's inserts. Left out:

- API keys (their hashes), web sessions, members' password hashes and sign-in lockouts: members
  are imported without a password (``telemetron member password`` gives them one) and the
  organization gets new keys (``telemetron apikey create``);
- the Slack webhook URL and the webhook endpoints (URL and signing secret): set them again with
  ``telemetron slack set`` and ``telemetron webhook add``; the public URL is kept;
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
    Part("member", t.members, frozenset({"password_hash", "failed_signins", "locked_until"})),
    Part("team", t.teams),
    Part("team_member", t.team_members),
    Part("routing_rule", t.routing_rules),
    Part("customer", t.customers),
    Part("device", t.devices),
    Part("device_assignment", t.device_owners),
    Part("ticket", t.tickets),
    Part("message", t.ticket_messages),
    Part("notification_settings", t.notification_settings, frozenset({"slack_webhook_url"})),
]
BY_KIND = {part.kind: part for part in PARTS}
NOT_EXPORTED = ["api_keys", "member_sessions", "members.password_hash", "notification_settings.slack_webhook_url",
                "webhook_endpoints", "outbox", "outbox_attempts", "idempotency_keys", "triage_models"]
FORMAT = 1
HEADER = "telemetron-export"
