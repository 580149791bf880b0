"""Real Redis for the handoff unit tests, under a key prefix of their own (never a flush: e2e stacks and
other tests may share the database)."""
from __future__ import annotations

import os
import uuid

import pytest
import redis


def redis_test_url() -> str:
    base = os.environ.get("COLLECTIONS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0]
    return f"{base}/{os.environ.get('COLLECTIONS_TEST_REDIS_DB', '10')}"


@pytest.fixture
def redis_prefix():
    url = redis_test_url()
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.ConnectionError as error:
        # Not a skip: the test command (scripts/test.sh) always provides a Redis.
        pytest.fail(f"Redis at {url} not reachable ({error}); run the tests with bash scripts/test.sh")
    prefix = f"test-handoff-{uuid.uuid4().hex[:10]}"
    yield url, prefix
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()
