"""Categories as the configuration cache and the ticket path carry them: small frozen values."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CategoryRef:
    """An active category a ticket may name."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class AiCategory:
    """A category the categorizer may choose; ``auto_resolve`` resolves its tickets at once."""

    id: str
    name: str
    auto_resolve: bool
    description: str

    @property
    def ref(self) -> CategoryRef:
        return CategoryRef(self.id, self.name)
