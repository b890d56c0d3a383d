"""The ticket page's one form: the reply and the sidebar's fields are sent together, so a reply
never drops a change made in the sidebar (and saving the sidebar never drops a draft reply).

``send`` is one unit of work over ``ticket_data.reply`` and ``ticket_data.update`` (the functions
a lone reply or update uses: notifications, training and "only what this agent changed" hold), plus the
ticket's tags through ``tickets.update.change_tags``.
"""

from __future__ import annotations

from dataclasses import dataclass

from telemetron.clock import utcnow
from telemetron.db.scoped import Scoped
from telemetron.members.auth import SignedIn
from telemetron.tickets.serializers import canonical_ticket_id
from telemetron.tickets.update import change_tags, lock_ticket
from telemetron.web import ticket_data
from telemetron.web.pages import Form

FIELDS = ("status", "priority", "category", "assignee")


@dataclass(frozen=True, slots=True)
class Sent:
    ticket_id: str
    replied: bool | None  # None: no reply in this sending; False: this reply was added before
    changed: list[str]


def _tags(text: str) -> list[str]:
    return [t for t in (part.strip() for part in text.split(",")) if t]


def send(scoped: Scoped, member: SignedIn, raw_id: str, *, form: Form, with_reply: bool, max_text: int) -> Sent:
    """Add the reply (when ``with_reply``) and apply the fields the agent changed, in one transaction."""
    values = {f: (form.get(f) if form.has(f) else None) for f in FIELDS}
    if form.get("assign_me") == "1":
        values["assignee"] = member.member_id
    shown = {f: form.get(f"shown_{f}") if form.has(f"shown_{f}") else None for f in FIELDS}
    replied = None
    if with_reply:
        # A form without what it showed (an older page, a script) sets the status with the reply.
        status_now = values["status"] or "" if shown["status"] is None else ""
        _, replied = ticket_data.reply(scoped, member, raw_id, content=form.get("content"), status=status_now,
                                       max_text=max_text, once=form.get("once")[:64])
        if shown["status"] is None:
            values["status"] = None
    changed = ticket_data.update(scoped, member, raw_id, status=values["status"], priority=values["priority"],
                                 category_id=values["category"], assignee_id=values["assignee"], shown=shown)
    if form.has("tags") and form.get("tags") != form.get("shown_tags"):
        ticket = lock_ticket(scoped, canonical_ticket_id(raw_id))
        if change_tags(scoped, ticket, _tags(form.get("tags")), now=utcnow()):
            changed.append("tags")
    return Sent(canonical_ticket_id(raw_id) or raw_id, replied, changed)
