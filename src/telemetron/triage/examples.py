"""Training examples of one organisation: its categories' definitions and its labelled tickets.

Nothing here reads the database: the caller passes the organisation's active, AI-enabled
categories and its labelled tickets; the result feeds :func:`telemetron.triage.train`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

#: Default weights. A definition is what the admin says the category is; a ticket an agent
#: re-labelled (a correction) says where the model was wrong, so it counts more.
DEFINITION_WEIGHT = 1.0
PHRASE_WEIGHT = 1.0
#: Each clause of a description ("flat tire, brakes not working, loose chain") is an example of
#: its own, at half weight: an admin's description is usually a list of what belongs, and a short
#: ticket ("headlight dead") is closer to one item of it than to the whole sentence.
CLAUSE_WEIGHT = 0.5
TICKET_WEIGHT = 1.0
CORRECTION_WEIGHT = 3.0
MAX_TEXT_CHARS = 4000


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    weight: float = 1.0


@dataclass
class CategoryDef:
    """label: what predictions return (e.g. the category id); name/description/examples:
    the admin's words."""

    label: str
    name: str
    description: str = ""
    examples: Sequence[str] = field(default_factory=tuple)


@dataclass
class LabelledTicket:
    text: str  # see ticket_text()
    label: str
    corrected: bool = False  # an agent changed the category the model (or someone) chose


def humanize(name: str) -> str:
    """'card_arrival' -> 'card arrival' (names are often identifiers)."""
    return re.sub(r"[_\-./]+", " ", name).strip()


def ticket_text(title: str | None = None, description: str | None = None,
                customer_messages: Iterable[str] | None = None,
                max_chars: int = MAX_TEXT_CHARS) -> str:
    """The text the categorizer reads: title, description, then the customer's messages."""
    parts = [p.strip() for p in [title or "", description or "", *(customer_messages or ())]]
    text = "\n".join(p for p in parts if p)
    return text[:max_chars]


def build_examples(categories: Sequence[CategoryDef],
                   tickets: Sequence[LabelledTicket] = (), *,
                   definition_weight: float = DEFINITION_WEIGHT,
                   phrase_weight: float = PHRASE_WEIGHT,
                   ticket_weight: float = TICKET_WEIGHT,
                   correction_weight: float = CORRECTION_WEIGHT) -> list[Example]:
    """Examples for one organisation.

    Each category gives "name: description" (or the name alone when there is no
    description), each clause of its description and each example phrase; each labelled
    ticket whose label is one of `categories` gives its text (tickets of other, inactive or
    deleted categories are left out). Duplicated (text, label) pairs are merged, keeping the
    largest weight.

    The categories' own examples are balanced: each category's add up to the same weight (the
    mean of their sums, so their total is unchanged). Otherwise a category with two example
    phrases outweighed one with a description alone, and a new organization's first tickets
    went to the former (an audit of a bike-share organization: the best candidate was right for
    13 of 23 tickets, 21 of 23 balanced; bench/triage_coldstart.py). Labelled tickets are not balanced:
    how often each category really comes up is worth learning.
    """
    allowed = {c.label for c in categories}
    best: dict[tuple[str, str], float] = {}

    def add(into: dict, text: str, label: str, weight: float) -> None:
        text = (text or "").strip()[:MAX_TEXT_CHARS]
        if not text or weight <= 0:
            return
        key = (text, label)
        into[key] = max(into.get(key, 0.0), weight)

    own: list[dict[tuple[str, str], float]] = []
    for c in categories:
        mine: dict[tuple[str, str], float] = {}
        name = humanize(c.name)
        desc = (c.description or "").strip()
        add(mine, f"{name}: {desc}" if desc else name, c.label, definition_weight)
        for clause in description_clauses(desc):
            add(mine, clause, c.label, definition_weight * CLAUSE_WEIGHT)
        for phrase in c.examples or ():
            add(mine, phrase, c.label, phrase_weight)
        if mine:
            own.append(mine)
    if own:
        mean = sum(sum(m.values()) for m in own) / len(own)
        for mine in own:
            scale = mean / sum(mine.values())
            for (text, label), weight in mine.items():
                add(best, text, label, weight * scale)
    for t in tickets:
        if t.label in allowed:
            add(best, t.text, t.label, correction_weight if t.corrected else ticket_weight)
    return [Example(text, label, w) for (text, label), w in best.items()]


_CLAUSE_BREAKS = re.compile(r"[,;:.()!?/]+|\s+-\s+|\s(?:or|and)\s", re.IGNORECASE)


def description_clauses(description: str) -> list[str]:
    """The items of a description, as an admin lists them: "Charges for rides, refunds, receipts
    and card problems" -> ["Charges for rides", "refunds", "receipts", "card problems"]. None
    when the description is a single clause (it is an example already)."""
    clauses = [c.strip() for c in _CLAUSE_BREAKS.split(description or "")]
    clauses = [c for c in clauses if len(c) >= 3]
    return clauses if len(clauses) > 1 else []
