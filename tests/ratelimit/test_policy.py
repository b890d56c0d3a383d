"""A policy's storage keys are the ``limits`` library's own, so Redis counts stay where they were."""

from __future__ import annotations

from telemetron.ratelimit.policy import parse_policy


def test_the_keys_are_spelled_as_the_library_spells_them():
    policy = parse_policy("100/second;3000/minute;5/10 hours")
    assert policy is not None
    bucket = "9f86d081884c7d659a2feaa0c55ad015"
    assert policy.keys_for(bucket) == [item.key_for(bucket) for item in policy.items]
    assert policy.keys_for(bucket)[2] == f"LIMITER/{bucket}/5/10/hour"
