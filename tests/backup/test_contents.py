"""Every column and table of the schema is a decision: exported, or left out on purpose.

A column added to an exported table (say a two-factor secret on members) fails this test until
it is listed here as exported or in ``contents`` as left out: an export must never carry a new
secret by default, nor silently lose new data.
"""

from __future__ import annotations

from telemetron.backup.contents import NOT_EXPORTED, PARTS
from telemetron.db.tables import metadata

EXPORTED = {
    "organization": ["created_at", "id", "last_ticket_number", "name", "rate_limit", "require_2fa", "triage_threshold"],
    "category": ["active", "ai_enabled", "auto_resolve", "created_at", "description", "examples", "id", "name",
                 "name_key", "organization_id", "updated_at"],
    "member": ["available", "created_at", "email", "id", "name", "organization_id", "role", "updated_at"],
    "team": ["created_at", "id", "last_assigned_member_id", "name", "organization_id", "strategy"],
    "team_member": ["member_id", "organization_id", "team_id"],
    "routing_rule": ["actions", "conditions", "continue_matching", "created_at", "enabled", "id", "name",
                     "organization_id", "position"],
    "customer": ["address", "category_id", "created_at", "email", "id", "metadata", "name", "organization_id", "phone",
                 "updated_at"],
    "device": ["category_id", "created_at", "id", "identifier", "metadata", "organization_id", "properties", "type",
               "updated_at"],
    "device_assignment": ["created_at", "customer_id", "device_id", "organization_id"],
    "ticket": ["assignee_id", "category_candidates", "category_confidence", "category_corrected_at", "category_id",
               "category_source", "created_at", "customer_id", "description", "description_generated", "id",
               "last_customer_message_at", "number", "organization_id", "priority", "resolved_at", "routed_by_rule_id",
               "routing_reason", "slack_channel", "status", "tags", "title", "updated_at", "waiting_since"],
    "message": ["author_member_id", "channel", "content", "created_at", "delivery_error", "delivery_state",
                "email_message_id", "email_source", "id", "organization_id", "original_content", "position", "role",
                "thread_reason", "ticket_id", "visibility"],
    "attachment": ["content_type", "created_at", "filename", "id", "inline", "message_id", "organization_id", "path",
                   "size", "ticket_id"],
    "macro": ["actions", "content", "created_at", "id", "name", "organization_id", "updated_at"],
    "saved_view": ["created_at", "id", "member_id", "name", "organization_id", "query", "shared"],
    "notification_settings": ["organization_id", "public_url", "slack_channel", "updated_at"],
}


def test_every_column_of_an_exported_table_was_decided():
    for part in PARTS:
        exported = sorted(c.name for c in part.columns)
        assert exported == EXPORTED[part.kind], (
            f"{part.table.name}: exported columns changed to {exported}; decide for each new column whether it is "
            "exported (add it here) or left out (Part.left_out in backup/contents.py; secrets always left out)")


def test_every_table_is_exported_or_left_out_on_purpose():
    decided = {part.table.name for part in PARTS} | {name for name in NOT_EXPORTED if "." not in name}
    undecided = sorted(set(metadata.tables) - decided)
    assert undecided == [], f"tables neither exported nor in NOT_EXPORTED (backup/contents.py): {undecided}"
