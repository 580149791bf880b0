"""Real Redis for the unit tests, under a key prefix of their own (never a flush: the database may be one a
caller set aside for tests and shares between sessions)."""
from __future__ import annotations

import uuid

import pytest
import redis


@pytest.fixture
def redis_prefix(unit_redis_url):
    client = redis.Redis.from_url(unit_redis_url)
    prefix = f"test-handoff-{uuid.uuid4().hex[:10]}"
    yield unit_redis_url, prefix
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()
