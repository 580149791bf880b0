"""One way the gateway opens Redis: a connection the server closed (Redis restarted, a failover, an idle
timeout) is reconnected and the command retried, instead of failing the borrower's request."""
from __future__ import annotations

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

RETRIES = 5  # with backoff from 0.1 s up to 2 s: rides out a restart of a few seconds


def connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, decode_responses=True,
        retry=Retry(ExponentialBackoff(cap=2.0, base=0.1), RETRIES),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )
