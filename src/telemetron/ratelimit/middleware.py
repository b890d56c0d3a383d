"""The ASGI layer that applies ``KeyLimiter`` to every ext-v1 request that carries an API key.

It sits inside ``RequestContextMiddleware`` (a 429 has its ``X-Request-ID``) and before the
endpoint reads the body or touches the database. A request without a key is answered 401 by the
endpoint without any database work, so it is not counted.
"""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from telemetron.api.requests import api_key_in
from telemetron.ratelimit.limiter import Verdict

EXT_V1_PREFIX = "/api/ext-v1/"


async def verdict_for(scope: Scope) -> Verdict | None:
    """The limiter's verdict on this request, or None when no limit applies to it (no limiter, not
    an ext-v1 call, no key: the endpoint answers 401 without any database work)."""
    limiter = getattr(scope["app"].state, "rate_limiter", None) if "app" in scope else None
    if limiter is None or scope["type"] != "http" or not scope["path"].startswith(EXT_V1_PREFIX):
        return None
    api_key = api_key_in(scope)
    return await limiter.check(api_key) if api_key else None


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        verdict = await verdict_for(scope)
        if verdict is None:
            await self.app(scope, receive, send)
            return
        if not verdict.allowed:
            await refuse(send, verdict)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *verdict.headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def refuse(send: Send, verdict: Verdict, extra_headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """The 429, with the verdict's headers (and ``extra_headers``)."""
    body = orjson.dumps({"error": verdict.message, "code": "rate_limited"})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               *verdict.headers, *(extra_headers or ())]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})
