"""Redis for the rate-limit tests: the machine's, each test under its own key prefix, removed after."""

from __future__ import annotations

import os
import uuid

import pytest

from tests.support.databases import REDIS_URL


@pytest.fixture
def redis_prefix():
    """A key prefix of this test's own in the machine's Redis (skipped without Redis, failed under CI)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {REDIS_URL} is not reachable ({exc}): CI must run the Redis tests", pytrace=False)
        pytest.skip(f"Redis at {REDIS_URL} is not reachable ({exc})")
    prefix = f"telemetron-test-{uuid.uuid4().hex[:10]}"
    yield prefix
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()
