"""Training examples of one organisation: its categories' definitions and its labelled tickets.

Nothing here reads the database: the caller passes the organisation's active, AI-enabled
categories and its labelled tickets; the result feeds :func:`telemetron.triage.train`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

#: Default weights. A definition is what the admin says the category is; a ticket an agent
#: re-labelled (a correction) says where the model was wrong, so it counts more.
DEFINITION_WEIGHT = 1.0
PHRASE_WEIGHT = 1.0
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
    description) and each example phrase; each labelled ticket whose label is one of
    `categories` gives its text (tickets of other, inactive or deleted categories are left
    out). Duplicated (text, label) pairs are merged, keeping the largest weight.
    """
    allowed = {c.label for c in categories}
    best: dict[tuple[str, str], float] = {}

    def add(text: str, label: str, weight: float) -> None:
        text = (text or "").strip()[:MAX_TEXT_CHARS]
        if not text or weight <= 0:
            return
        key = (text, label)
        best[key] = max(best.get(key, 0.0), weight)

    for c in categories:
        name = humanize(c.name)
        desc = (c.description or "").strip()
        add(f"{name}: {desc}" if desc else name, c.label, definition_weight)
        for phrase in c.examples or ():
            add(phrase, c.label, phrase_weight)
    for t in tickets:
        if t.label in allowed:
            add(t.text, t.label, correction_weight if t.corrected else ticket_weight)
    return [Example(text, label, w) for (text, label), w in best.items()]
