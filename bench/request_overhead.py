#!/usr/bin/env python3
"""CPU per request of what every ext-v1 request now goes through, each part alone, in one process:
the rate limiter's check (in memory; in Redis, counted locally and flushed every 10 ms), the
Prometheus observation and the JSON access-log line (written to /dev/null).

    .venv/bin/python bench/request_overhead.py            # Redis at redis://127.0.0.1:6379/0 for the Redis row
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid

from telemetron.config import Settings
from telemetron.observability.http import _log, access_logger
from telemetron.observability.metrics import observe_request
from telemetron.ratelimit.limiter import KeyLimiter

N = 20_000
KEY = "tlm_" + "x" * 43
SCOPE = {"type": "http", "method": "POST", "path": "/api/ext-v1/ticket/createTicket", "client": ("127.0.0.1", 1),
         "headers": [(b"host", b"x"), (b"x-api-key", KEY.encode()), (b"content-length", b"100")],
         "state": {"request_id": "abc"}}
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def per_request(fn) -> float:
    started = time.process_time()
    for _ in range(N):
        fn()
    return (time.process_time() - started) / N * 1e6


async def limiter_cost(redis_url: str | None) -> float:
    settings = Settings(database_url="sqlite:////tmp/unused.db", rate_limit="1000000/second;60000000/minute",
                        redis_url=redis_url, redis_key_prefix=f"bench-{uuid.uuid4().hex[:6]}")
    limiter = KeyLimiter.from_settings(settings, db=None)
    limiter._overrides._due = float("inf")  # no organization overrides to read: no database here
    started = time.process_time()
    for i in range(N):
        await limiter.check(KEY)
        if i % 20 == 0:  # the event loop's turn, as between a server's requests (the flush runs then)
            await asyncio.sleep(0)
    return (time.process_time() - started) / N * 1e6


def main() -> None:
    print(f"rate limiter, in memory:       {asyncio.run(limiter_cost(None)):6.2f} µs a request")
    print(f"rate limiter, Redis:           {asyncio.run(limiter_cost(REDIS_URL)):6.2f} µs a request")
    print(f"metrics (count + histogram):   {per_request(lambda: observe_request('POST', '/x', 200, 0.001)):6.2f} µs a request")
    handler = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115
    handler.setFormatter(logging.Formatter("%(message)s"))
    access_logger.addHandler(handler)
    access_logger.setLevel(logging.INFO)
    access_logger.propagate = False
    print(f"access-log line (/dev/null):   {per_request(lambda: _log(SCOPE, '/x', 200, 0.001)):6.2f} µs a request")


if __name__ == "__main__":
    main()
