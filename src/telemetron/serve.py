"""``telemetron serve``: the HTTP API (and the web app) on uvicorn, in one or more processes."""

from __future__ import annotations

from typing import Annotated

import typer

from telemetron.cli_support import fail
from telemetron.config import get_settings

serve_app = typer.Typer()


@serve_app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Server processes (PostgreSQL; SQLite wants 1).")] = 1,
) -> None:
    """Run the HTTP API."""
    import uvicorn

    from telemetron.db.engine import normalize_url
    from telemetron.db.migrate import schema_problem

    settings = get_settings()
    problem = schema_problem(settings.database_url)
    if problem:
        fail(problem)
    if workers > 1 and normalize_url(settings.database_url).startswith("sqlite"):
        # Each process would block its event loop waiting for the one SQLite writer in turn.
        fail("SQLite has one writer: run one server process (--workers 1), or use PostgreSQL for more")
    from telemetron.observability.multiproc import shared_metrics

    with shared_metrics(workers):  # before any server process imports prometheus_client
        uvicorn.run(
            "telemetron.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=settings.log_level,
            access_log=False,
            # The client's address (sign-in limits) and scheme (Secure cookies) from these proxies only.
            proxy_headers=bool(settings.trusted_proxies.strip()),
            forwarded_allow_ips=settings.trusted_proxies.strip() or None,
            loop="uvloop" if _has_uvloop() else "asyncio",
            http="httptools",
        )


def _has_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True
