"""The gateway's Redis connections survive a restart of Redis: a real redis-server of the test's own,
persisting to an append-only file, is shut down and started again between two commands."""
from __future__ import annotations

import subprocess
import time

import pytest
import redis as sync_redis

from bot import redis_connection
from tests.stack import _free_port

pytestmark = pytest.mark.asyncio


def _start(port: int, directory) -> None:
    subprocess.run(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--daemonize", "yes",
                    "--dir", str(directory), "--appendonly", "yes", "--appendfsync", "always", "--save", "",
                    "--pidfile", str(directory / "redis.pid"), "--logfile", str(directory / "redis.log")],
                   check=True)
    deadline = time.monotonic() + 60
    while True:
        try:
            if sync_redis.Redis(port=port).ping():
                return
        except sync_redis.ConnectionError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)


def _shutdown(port: int) -> None:
    try:
        sync_redis.Redis(port=port).shutdown()
    except sync_redis.ConnectionError:
        pass  # the server closes the connection as it exits


async def test_a_command_after_redis_restarted_succeeds_on_the_same_client(tmp_path):
    port = _free_port()
    _start(port, tmp_path)
    client = redis_connection.connect(f"redis://127.0.0.1:{port}/0")
    try:
        await client.set("collections:test:key", "kept")
        _shutdown(port)
        _start(port, tmp_path)
        # The pooled connection was closed by the old server: reconnected and retried, not an error.
        assert await client.get("collections:test:key") == "kept"
    finally:
        await client.aclose()
        _shutdown(port)
