"""A real SMTP server for tests (aiosmtpd), on a free port, keeping what it receives."""

from __future__ import annotations

import threading
import time
from email import policy
from email.parser import BytesParser

from aiosmtpd.controller import Controller

from tests.support.servers import free_port


class Inbox:
    """Receives mail; refuses recipients in ``refuse`` with a permanent 550."""

    def __init__(self) -> None:
        self.messages: list = []
        self.refuse: set[str] = set()
        self._arrived = threading.Condition()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content or envelope.content)
        with self._arrived:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
            self._arrived.notify_all()
        return "250 Message accepted"

    def wait_for(self, n: int, timeout: float = 15.0) -> list:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.messages) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {n} mails, got {len(self.messages)}")
                self._arrived.wait(left)
            return list(self.messages)


class SmtpServer:
    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
