"""An organization's routing, notification and categorizer configuration, cached per process, never stale.

Every ticket needs its organization's categories, routing rules, Slack settings, webhook
endpoints, AI categories and categorizer model version: queries whose answers almost never change. Each process caches them per organization with the
organization's ``config_version``, which is read with the API key in the ticket's own transaction
and bumped (``orgs.config_version.bump``) in the same transaction as any change to those rules or settings. A ticket
therefore always routes with the configuration committed when its transaction read the key, on
any number of processes, without a cache invalidation protocol.
"""

from __future__ import annotations

from dataclasses import dataclass

from telemetron.categories.service import active_by_key, ai_categories
from telemetron.categories.values import AiCategory, CategoryRef
from telemetron.db.scoped import Scoped
from telemetron.notifications.settings import enabled_endpoint_ids, get_settings
from telemetron.orgs.config_version import bump
from telemetron.routing.rules import Rule
from telemetron.routing.service import load_rules
from telemetron.triage.store import model_info, threshold_of

__all__ = ["OrgConfig", "bump", "cache", "load"]  # bump: re-exported for the modules that call it from here
MAX_CACHED_ORGANIZATIONS = 10_000


@dataclass(frozen=True, slots=True)
class OrgConfig:
    rules: list[Rule]  # in order
    slack_webhook_url: str | None
    public_url: str | None
    webhook_endpoint_ids: list[str]
    # The active categories by name_key: what a ticket's "category" may name.
    active_categories: dict[str, CategoryRef]
    # The categories the AI may choose, by id; and the model to use.
    ai_categories: dict[str, AiCategory]
    triage_model_version: int | None
    triage_threshold: float | None


def load(scoped: Scoped) -> OrgConfig:
    slack_url, public_url = get_settings(scoped)
    model = model_info(scoped)
    return OrgConfig(
        load_rules(scoped), slack_url, public_url, enabled_endpoint_ids(scoped),
        active_categories=active_by_key(scoped),
        ai_categories=ai_categories(scoped),
        triage_model_version=model["version"] if model else None,
        triage_threshold=threshold_of(scoped.conn, scoped.org_id),
    )


class ConfigCache:
    def __init__(self) -> None:
        self._entries: dict[str, tuple[int, OrgConfig]] = {}

    def get(self, scoped: Scoped, version: int) -> OrgConfig:
        entry = self._entries.get(scoped.org_id)
        if entry is not None and entry[0] == version:
            return entry[1]
        config = load(scoped)
        if len(self._entries) >= MAX_CACHED_ORGANIZATIONS:
            self._entries.clear()
        self._entries[scoped.org_id] = (version, config)
        return config

    def latest(self, org_id: str) -> OrgConfig | None:
        """The configuration last loaded for ``org_id``, whatever its version: for work done before
        the request's transaction reads the current version (which still decides)."""
        entry = self._entries.get(org_id)
        return entry[1] if entry is not None else None


# One per process: units of work run one at a time per organization's version, and a lost race
# only reloads.
cache = ConfigCache()
