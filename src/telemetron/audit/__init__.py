"""The audit log: who changed what in an organization, when, and from where.

``record`` writes one event in the transaction of the change it describes (so there is never a
change without its event, nor an event for a change that rolled back). Who acts travels with the
organization's scope (``Scoped.actor``: a member in the web app, the shell for the CLI), so the
write functions record without being told. Events hold no secret: ``record`` refuses to store a
value under a name that says it is one (password, secret, token, hash, key material, URL of a
Slack webhook) and callers describe secrets by what happened to them ("set", "removed").

Read with ``telemetron audit list --org ORG [--json]`` or on the admins' *Audit log* page.
"""

from telemetron.audit.log import Actor, list_events, record, record_scoped

__all__ = ["Actor", "list_events", "record", "record_scoped"]
