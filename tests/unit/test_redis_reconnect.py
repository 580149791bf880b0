"""The gateway's Redis connections survive a restart of Redis: a real redis-server of the test's own,
persisting to an append-only file, is shut down and started again between two commands."""
from __future__ import annotations

import pytest

from bot import redis_connection
from tests.stack import PrivateRedis

pytestmark = pytest.mark.asyncio


async def test_a_command_after_redis_restarted_succeeds_on_the_same_client(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    client = redis_connection.connect(server.url)
    try:
        await client.set("collections:test:key", "kept")
        server.stop()
        server.start()
        # The pooled connection was closed by the old server: reconnected and retried, not an error.
        assert await client.get("collections:test:key") == "kept"
    finally:
        await client.aclose()
        server.stop()
