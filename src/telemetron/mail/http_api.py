"""``POST /api/inbound/email``: forwarders (Postmark, Mailgun, SES, Cloudflare Email Routing...)
post the raw RFC 822 mail with ``Authorization: Bearer <inboundSecret>``.

Answers 200 ``{"ticketId", "created"}`` for a mail that became or joined a ticket (also for the
same mail again: ``created`` false), 200 ``{"ignored": reason}`` for one deliberately dropped
(auto-reply, bounce, list mail, our own), 401 for a missing or wrong secret, 4xx with the usual
error body for a broken request. The secret is checked before the body is read.
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from telemetron.api.routing import ext_v1
from telemetron.errors import InvalidRequest, PayloadTooLarge, Unauthorized
from telemetron.mail import inbound
from telemetron.mail.mailboxes import by_inbound_secret

_ACCEPTED = ("message/rfc822", "application/octet-stream", "text/plain")

INBOUND_OPENAPI = {
    "description": "Raw RFC 822 mail in, ticket out. Authenticated by the mailbox's inbound secret "
                   "(`telemetron mailbox add` prints it) as a Bearer token.",
    "requestBody": {"required": True, "content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}}},
    "responses": {
        "200": {"description": "`{\"ticketId\", \"created\"}`, or `{\"ignored\": \"<reason>\"}`"},
        "400": {"description": "Empty or broken mail (e.g. no From address)"},
        "401": {"description": "Missing or wrong inbound secret"},
        "413": {"description": "Mail over TELEMETRON_MAIL_MAX_MESSAGE_BYTES"},
        "415": {"description": "Not a raw mail (send Content-Type: message/rfc822)"},
    },
}


class UnsupportedMediaType(InvalidRequest):
    status = 415


def _bearer(request: Request) -> str | None:
    scheme, _, credentials = (request.headers.get("authorization") or "").partition(" ")
    return credentials.strip() or None if scheme.lower() == "bearer" else None


async def _raw_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The mail is {int(declared)} bytes; the limit is {limit} bytes", code="body_too_large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The mail is over the limit of {limit} bytes", code="body_too_large")
        chunks.append(chunk)
    return b"".join(chunks)


@ext_v1.post("/api/inbound/email", summary="Receive a raw email (forwarders)", tag="email", openapi=INBOUND_OPENAPI)
async def inbound_email(request: Request) -> Response:
    from telemetron.mail.imap_poll import server_categorizer

    ctx = request.app.state.ctx
    mailbox = await ctx.db.run(by_inbound_secret, _bearer(request))
    if mailbox is None:
        raise Unauthorized("Missing or wrong inbound secret: send Authorization: Bearer <inboundSecret> "
                           "(telemetron mailbox add prints it)", code="invalid_inbound_secret")
    ctype = (request.headers.get("content-type") or "message/rfc822").split(";")[0].strip().lower()
    if ctype not in _ACCEPTED:
        raise UnsupportedMediaType(f"Send the raw mail as the body with Content-Type: message/rfc822 (got {ctype})",
                                   field="Content-Type", code="unsupported_media_type")
    raw = await _raw_body(request, ctx.settings.mail_max_message_bytes)
    if not raw.strip():
        raise InvalidRequest("The body is empty: send the raw RFC 822 mail", code="empty_mail")
    if b"\n" not in raw or b":" not in raw.split(b"\n", 1)[0]:
        raise InvalidRequest("The body is not a raw mail: it must start with headers (From:, Subject:, ...)",
                             code="invalid_mail")
    result = await inbound.receive(ctx.db, ctx.settings, mailbox, raw,
                                   categorize=server_categorizer(ctx.db, ctx))
    return Response(orjson.dumps(result), media_type="application/json")
