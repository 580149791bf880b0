"""Quiet borrowers' turn time with and without a flood, on a stack of its own started like the tests'.

Unloaded: N quiet borrowers (default 5) hold a scripted conversation each over /ws/chat, at the same time.
Loaded: the same, with 50 idle chat sockets open and 2 flooding clients (one on /ws/chat sending every
frame at once, one posting over REST as fast as answers come) each sending 200 messages. Every client has
an address of its own (X-Forwarded-For, as a proxy on 127.0.0.1 would set it), so the per-address limits
apply as they would to separate people. Prints the quiet borrowers' p50/p95 both ways (goal: loaded p95
at most twice unloaded) and, per flooder, how many messages were answered, refused with an error, and
neither (must be 0).

    .venv/bin/python -m benchmarks.flood [--quiet 5] [--idle 50] [--flood-messages 200] [--redis-db 5]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass, field

import httpx
import websockets

from benchmarks.bench_stack import benchmark_stack, chinese_borrower_ids
from benchmarks.chat_latency import _percentiles, _script
from ledger.repository import Ledger
from tests.e2e.chat import borrower_link

TIMEOUT = 120
IDLE_OPENING_AT_ONCE = 4


@dataclass
class FloodCount:
    sent: int = 0
    answered: int = 0
    refused: dict[str, int] = field(default_factory=dict)  # error code -> count

    def refuse(self, code: str) -> None:
        self.refused[code] = self.refused.get(code, 0) + 1

    def line(self, name: str) -> str:
        refused = sum(self.refused.values())
        lost = self.sent - self.answered - refused
        return (f"{name:16s} sent {self.sent:4d}   answered {self.answered:4d}   refused {refused:4d} "
                f"{self.refused}   neither {lost}")


def _ws_url(gateway: str, query: str) -> str:
    return gateway.replace("http://", "ws://") + f"/ws/chat?{query}"


def _headers(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


async def _until_turn_complete(socket) -> None:
    while json.loads(await asyncio.wait_for(socket.recv(), TIMEOUT))["type"] != "turn_complete":
        pass


async def _quiet_conversation(gateway: str, borrower_id: str, lines: list[str], address: str,
                              turns: list[float]) -> None:
    async with websockets.connect(_ws_url(gateway, f"borrower_link={borrower_link(borrower_id)}"), max_size=2**20,
                                  additional_headers=_headers(address)) as socket:
        await _until_turn_complete(socket)
        for line in lines:
            started = time.perf_counter()
            await socket.send(json.dumps({"type": "user", "text": line}, ensure_ascii=False))
            await _until_turn_complete(socket)
            turns.append(time.perf_counter() - started)


async def _quiet_borrowers(gateway: str, ledger: Ledger, borrower_ids: list[str]) -> list[float]:
    turns: list[float] = []
    await asyncio.gather(*(_quiet_conversation(gateway, borrower_id, _script(ledger, borrower_id),
                                               f"10.0.0.{number + 1}", turns)
                           for number, borrower_id in enumerate(borrower_ids)))
    return turns


async def _websocket_flood(gateway: str, borrower_id: str, messages: int, count: FloodCount) -> None:
    """Every frame sent at once; each must come back as a turn or an error."""
    async with websockets.connect(_ws_url(gateway, f"borrower_link={borrower_link(borrower_id)}"), max_size=2**20,
                                  additional_headers=_headers("10.2.0.1")) as socket:
        await _until_turn_complete(socket)

        async def send_all() -> None:
            for number in range(messages):
                await socket.send(json.dumps({"type": "user", "text": f"在吗{number}"}, ensure_ascii=False))
                count.sent += 1

        sending = asyncio.create_task(send_all())
        try:
            while count.answered + sum(count.refused.values()) < messages:
                frame = json.loads(await asyncio.wait_for(socket.recv(), TIMEOUT))
                if frame["type"] == "turn_complete":
                    count.answered += 1
                elif frame["type"] == "error":
                    count.refuse(frame["error"])
        except (asyncio.TimeoutError, websockets.ConnectionClosed):
            pass  # whatever is unaccounted for shows as "neither"
        await sending


async def _rest_flood(gateway: str, borrower_id: str, messages: int, count: FloodCount) -> None:
    async with httpx.AsyncClient(base_url=gateway, timeout=TIMEOUT, headers=_headers("10.2.0.2")) as http:
        opened = (await http.post("/api/conversations", json={"borrower_link": borrower_link(borrower_id)})).json()
        conversation_id = opened["conversation_id"]
        http.headers["Authorization"] = f"Bearer {opened['secret']}"
        for number in range(messages):
            count.sent += 1
            response = await http.post(f"/api/conversations/{conversation_id}/messages", json={"text": f"在吗{number}"})
            if response.status_code == 200:
                count.answered += 1
            else:
                count.refuse(f"{response.status_code} {response.json().get('error')}")


async def _idle_sockets(gateway: str, borrower_ids: list[str]) -> list:
    """Chat sockets that open a conversation and then say nothing; opened a few at a time, as people arrive
    (fifty openings at once would measure Rasa's capacity, not the limits)."""
    arriving = asyncio.Semaphore(IDLE_OPENING_AT_ONCE)

    async def open_one(number: int, borrower_id: str):
        async with arriving:
            socket = await websockets.connect(
                _ws_url(gateway, f"borrower_link={borrower_link(borrower_id)}"), max_size=2**20,
                additional_headers=_headers(f"10.1.{number // 250}.{number % 250 + 1}"))
            await _until_turn_complete(socket)
            return socket

    return await asyncio.gather(*(open_one(number, borrower_id) for number, borrower_id in enumerate(borrower_ids)))


async def _loaded(gateway: str, ledger: Ledger, quiet_ids: list[str], idle_ids: list[str], flood_ids: list[str],
                  messages: int) -> tuple[list[float], FloodCount, FloodCount]:
    idle = await _idle_sockets(gateway, idle_ids)
    ws_count, rest_count = FloodCount(), FloodCount()
    try:
        flooding = [asyncio.create_task(_websocket_flood(gateway, flood_ids[0], messages, ws_count)),
                    asyncio.create_task(_rest_flood(gateway, flood_ids[1], messages, rest_count))]
        await asyncio.sleep(0.5)  # the floods are under way before the quiet borrowers start
        turns = await _quiet_borrowers(gateway, ledger, quiet_ids)
        await asyncio.gather(*flooding)
    finally:
        await asyncio.gather(*(socket.close() for socket in idle), return_exceptions=True)
    return turns, ws_count, rest_count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quiet", type=int, default=5, help="quiet borrowers taking turns")
    parser.add_argument("--idle", type=int, default=50, help="idle chat sockets during the flood")
    parser.add_argument("--flood-messages", type=int, default=200, help="messages each flooder sends")
    parser.add_argument("--redis-db", type=int, default=12)
    args = parser.parse_args()
    borrowers = 2 * args.quiet + args.idle + 2 + 10
    with benchmark_stack("flood", borrowers=borrowers * 2 + 10, port_base=26000, redis_db=args.redis_db) as (stack, ledger):
        ids = chinese_borrower_ids(ledger, borrowers * 2 + 10)
        unloaded_ids, loaded_ids = ids[:args.quiet], ids[args.quiet:2 * args.quiet]
        idle_ids = ids[2 * args.quiet:2 * args.quiet + args.idle]
        flood_ids = ids[2 * args.quiet + args.idle:2 * args.quiet + args.idle + 2]
        asyncio.run(_quiet_borrowers(stack.gateway_url, ledger, ids[-1:]))  # warm-up: first turns load lazily
        unloaded = asyncio.run(_quiet_borrowers(stack.gateway_url, ledger, unloaded_ids))
        loaded, ws_count, rest_count = asyncio.run(
            _loaded(stack.gateway_url, ledger, loaded_ids, idle_ids, flood_ids, args.flood_messages))
    p95 = lambda samples: sorted(samples)[max(0, int(round(0.95 * len(samples))) - 1)]  # noqa: E731
    print(f"{args.quiet} quiet borrowers x {len(unloaded) // max(1, args.quiet)} turns over /ws/chat")
    print(f"unloaded                      {_percentiles(unloaded)}")
    print(f"{args.idle} idle + 2 flooders     {_percentiles(loaded)}")
    print(f"loaded p95 / unloaded p95 = {p95(loaded) / p95(unloaded):.2f} (goal <= 2)")
    print(ws_count.line("websocket flood"))
    print(rest_count.line("rest flood"))


if __name__ == "__main__":
    main()
