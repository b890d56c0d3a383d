#!/usr/bin/env python3
"""A local stand-in for Slack or a webhook endpoint: prints every POST it receives.

    python3 examples/receiver.py [PORT] [--secret whsec_...]

With --secret it also checks Telemetron's webhook signature (see the README), exactly as a real
receiver should. Standard library only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def verify(secret: str, body: bytes, header: str, tolerance: int = 300) -> bool:
    """Telemetron's webhook signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
    (two v1 while a secret rotation overlaps: either may match)."""
    try:
        items = [item.split("=", 1) for item in header.split(",")]
        timestamp = int(dict(items)["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, value) for key, value in items if key == "v1")


def main() -> None:
    args = sys.argv[1:]
    secret = None
    if "--secret" in args:
        i = args.index("--secret")
        secret = args[i + 1]
        del args[i : i + 2]
    port = int(args[0]) if args else 9000

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            event = self.headers.get("X-Telemetron-Event", "slack message")
            print(f"--- {self.path} ({event})")
            if secret is not None:
                ok = verify(secret, body, self.headers.get("X-Telemetron-Signature", ""))
                print(f"signature: {'valid' if ok else 'INVALID'}")
            print(json.dumps(json.loads(body), indent=2, ensure_ascii=False), flush=True)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    print(f"listening on http://127.0.0.1:{port}/", flush=True)
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
