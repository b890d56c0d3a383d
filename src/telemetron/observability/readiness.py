"""``/readyz``: whether this process can serve, for a load balancer or an orchestrator.

Ready when the database answers within ``TIMEOUT_SECONDS`` and its schema is at this code's
migration head; otherwise 503 with the reason (never the database URL: it may hold a password).
``/healthz`` stays the liveness check: the process runs.
"""

from __future__ import annotations

import asyncio

import orjson
from alembic.runtime.migration import MigrationContext
from starlette.requests import Request
from starlette.responses import Response

from telemetron.db.migrate import head_revision

TIMEOUT_SECONDS = 2.0


def _json(status: int, body: dict) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json",
                    headers={"Cache-Control": "no-store"})


def _schema_revision(conn) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def readiness_endpoint(db):
    head = head_revision()

    async def readyz(_request: Request) -> Response:
        try:
            current = await asyncio.wait_for(asyncio.to_thread(db.read_sync, _schema_revision), TIMEOUT_SECONDS)
        except TimeoutError:
            return _json(503, {"ready": False, "code": "database_timeout",
                               "error": f"the database did not answer within {TIMEOUT_SECONDS:g} s"})
        except Exception as exc:  # noqa: BLE001 - unreachable, refused, no such database: say which kind, not the URL
            return _json(503, {"ready": False, "code": "database_unreachable",
                               "error": f"the database cannot be reached ({type(exc).__name__})"})
        if current != head:
            return _json(503, {"ready": False, "code": "schema_not_current", "schema": current, "head": head,
                               "error": f"the database schema is at {current or 'none'}; this code needs {head} "
                                        "(run `telemetron db upgrade`)"})
        return _json(200, {"ready": True, "schema": current})

    return readyz
