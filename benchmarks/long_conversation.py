"""Does a turn get slower as a conversation gets longer? One conversation through the gateway's /ws/chat
and one straight to Rasa's gateway channel, the same lines, on a stack of its own; prints the mean turn
time per block of turns for both, and the size of Rasa's tracker at the end.

    .venv/bin/python -m benchmarks.long_conversation [--turns 150] [--block 25]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid

import httpx
import websockets

from benchmarks.bench_stack import FIXED_NOW, UNTHROTTLED, benchmark_stack
from bot.rasa_client import TURN_WEBHOOK
from tests.e2e.chat import borrower_link

# Verified first, then questions that keep the conversation open (none ends it or asks for a person).
CYCLE = ["怎么还款", "好的，我知道了", "可以用支付宝还吗", "嗯", "还款账户是哪个"]


def _lines(id_last4: str, turns: int) -> list[str]:
    return ["对，是我", id_last4] + [CYCLE[number % len(CYCLE)] for number in range(turns - 2)]


async def _through_gateway(gateway: str, borrower_id: str, lines: list[str]) -> list[float]:
    turns: list[float] = []
    url = gateway.replace("http://", "ws://") + f"/ws/chat?borrower_link={borrower_link(borrower_id)}"
    async with websockets.connect(url, max_size=2**22) as socket:
        async def until_turn_complete() -> bool:
            while True:
                frame = json.loads(await socket.recv())
                if frame["type"] == "turn_complete":
                    return frame["ended"]

        await until_turn_complete()
        for line in lines:
            started = time.perf_counter()
            await socket.send(json.dumps({"type": "user", "text": line}, ensure_ascii=False))
            ended = await until_turn_complete()
            turns.append(time.perf_counter() - started)
            if ended:
                break
    return turns


async def _straight_to_rasa(rasa: str, token: str, borrower_id: str, lines: list[str]) -> tuple[list[float], str]:
    sender = uuid.uuid4().hex
    metadata = {"borrower_id": borrower_id, "channel": "bench", "timezone": "Asia/Shanghai", "now": FIXED_NOW}
    turns: list[float] = []
    async with httpx.AsyncClient(base_url=rasa, timeout=120, headers={"Authorization": f"Bearer {token}"}) as http:
        await http.post(TURN_WEBHOOK, json={"sender": sender, "message": "/start_conversation", "metadata": metadata})
        for line in lines:
            started = time.perf_counter()
            response = await http.post(TURN_WEBHOOK, json={"sender": sender, "message": line, "metadata": metadata})
            turns.append(time.perf_counter() - started)
            if response.json().get("conversation_ended"):
                break
    return turns, sender


def _blocks(turns: list[float], size: int) -> str:
    return "  ".join(f"{number * size + 1:3d}-{min(len(turns), (number + 1) * size):3d}: "
                     f"{statistics.mean(turns[number * size:(number + 1) * size]) * 1000:6.1f} ms"
                     for number in range((len(turns) + size - 1) // size))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=150)
    parser.add_argument("--block", type=int, default=25)
    parser.add_argument("--redis-db", type=int, default=12)
    args = parser.parse_args()
    generous = {**UNTHROTTLED, "COLLECTIONS_GATEWAY_MAX_TURNS_PER_CONVERSATION": str(args.turns + 10)}
    with benchmark_stack("long", borrowers=20, port_base=27000, redis_db=args.redis_db, gateway_env=generous) as (stack, ledger):
        gateway_borrower, rasa_borrower = ledger.get_borrower("B000006"), ledger.get_borrower("B000007")
        gateway_turns = asyncio.run(_through_gateway(
            stack.gateway_url, gateway_borrower.borrower_id, _lines(gateway_borrower.id_last4, args.turns)))
        rasa_turns, sender = asyncio.run(_straight_to_rasa(
            stack.rasa_url, stack.config.rasa_token, rasa_borrower.borrower_id, _lines(rasa_borrower.id_last4, args.turns)))
        tracker = httpx.get(f"{stack.rasa_url}/conversations/{sender}/tracker",
                            params={"token": stack.config.rasa_token}, timeout=60)
    print(f"gateway /ws/chat ({len(gateway_turns)} turns)  {_blocks(gateway_turns, args.block)}")
    print(f"Rasa directly    ({len(rasa_turns)} turns)  {_blocks(rasa_turns, args.block)}")
    print(f"Rasa's tracker after {len(rasa_turns)} turns: {len(tracker.json()['events'])} events, "
          f"{len(tracker.content) / 1024:.0f} KiB as JSON")


if __name__ == "__main__":
    main()
