"""The gateway's session stores, in-process and on real Redis: a conversation keeps Rasa's verification
verdict and the count of blocked bot words, counted atomically across concurrent turns and replicas."""
from __future__ import annotations

import asyncio

import pytest

from bot.sessions import Conversation, InMemorySessionStore, RedisSessionStore
from tests.unit.handoff_redis import redis_prefix  # noqa: F401 - fixture

pytestmark = pytest.mark.asyncio


def conversation(conversation_id: str) -> Conversation:
    return Conversation(conversation_id, "B000005", "websocket", "Asia/Shanghai", "2026-11-23T02:00:00+00:00")


@pytest.fixture(params=["memory", "redis"])
def make_store(request, redis_prefix):
    url, prefix = redis_prefix
    if request.param == "memory":
        shared = InMemorySessionStore()
        return lambda: shared
    return lambda: RedisSessionStore(url, prefix=prefix)


async def test_a_new_conversation_is_unverified_with_nothing_blocked(make_store):
    store = make_store()
    await store.create(conversation("conv-new"))
    stored = await store.get("conv-new")
    assert (stored.identity_verified, stored.blocked_bot_utterances, stored.ended) == (False, 0, False)
    await store.aclose()


async def test_the_verification_verdict_is_kept_and_can_be_withdrawn(make_store):
    store = make_store()
    await store.create(conversation("conv-verified"))
    await store.set_identity_verified("conv-verified", True)
    assert (await store.get("conv-verified")).identity_verified is True
    await store.set_identity_verified("conv-verified", False)  # e.g. a new Rasa session after expiry
    assert (await store.get("conv-verified")).identity_verified is False
    await store.aclose()


async def test_blocked_bot_words_are_counted_atomically_across_replicas(make_store):
    replicas = [make_store() for _ in range(4)]
    await replicas[0].create(conversation("conv-blocked"))
    counts = await asyncio.gather(*(
        replicas[i % 4].count_blocked_bot_utterance("conv-blocked") for i in range(40)))
    assert sorted(counts) == list(range(1, 41))
    assert (await replicas[1].get("conv-blocked")).blocked_bot_utterances == 40
    for store in replicas:
        await store.aclose()


async def test_what_get_returns_is_a_copy_changes_go_through_the_store(make_store):
    store = make_store()
    await store.create(conversation("conv-copy"))
    (await store.get("conv-copy")).identity_verified = True
    assert (await store.get("conv-copy")).identity_verified is False
    await store.aclose()
