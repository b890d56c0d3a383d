"""Mail that must make no ticket and get no answer: auto-replies, list mail, bounces, our own mail.

Answering an auto-reply with an auto-reply is how mail loops start (Chatwoot's and FreeScout's
most reported email bugs); RFC 3834 says how such mail marks itself.
"""

from __future__ import annotations

from telemetron.mail.parse import ParsedMail

_DAEMONS = ("mailer-daemon@", "postmaster@")


def is_bounce(mail: ParsedMail) -> bool:
    """A delivery report (RFC 3464), or mail from the mailer daemon or the postmaster."""
    if mail.content_type == "multipart/report" and (mail.bounce_of or mail.bounce_reason):
        return True
    return (mail.from_email or "").startswith(_DAEMONS)


def noise_reason(mail: ParsedMail, own_addresses: set[str]) -> str | None:
    """Why this mail is dropped, in words an admin can read; None when it is a person's mail."""
    if is_bounce(mail):
        return "bounce"
    auto = mail.headers.get("auto-submitted", "").split(";")[0].strip().lower()
    if auto and auto != "no":
        return f"auto-reply (Auto-Submitted: {auto})"
    if "x-autoreply" in mail.headers or "x-autorespond" in mail.headers:
        return "auto-reply (X-Autoreply)"
    precedence = mail.headers.get("precedence", "").strip().lower()
    if precedence in ("bulk", "junk", "list"):
        return f"bulk mail (Precedence: {precedence})"
    if mail.from_email and mail.from_email in own_addresses:
        return "from our own mailbox"
    return None
