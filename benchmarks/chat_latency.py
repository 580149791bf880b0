"""Chat-turn latency through the gateway and directly against Rasa, and throughput with concurrent
conversations. Starts its own stack (Rasa, action server, gateway, Redis, a seeded SQLite ledger).

    .venv/bin/python -m benchmarks.chat_latency [--conversations 30] [--concurrency 1 4 16]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from urllib.parse import urlencode

import httpx
import websockets

from ledger.repository import Ledger
from benchmarks.bench_stack import FIXED_NOW, UNTHROTTLED, benchmark_stack, chinese_borrower_ids
from bot.launcher import Stack
from bot.rasa_client import TURN_WEBHOOK
from tests.e2e.chat import borrower_link


def _script(ledger: Ledger, borrower_id: str) -> list[str]:
    borrower = ledger.get_borrower(borrower_id)
    return ["对，是我", borrower.id_last4, "我这周五先还两千块", "怎么还款", "没有了"]


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, int(round(0.95 * len(ordered))) - 1)]
    return f"p50 {statistics.median(ordered) * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   (n={len(ordered)})"


async def _gateway_conversation(gateway: str, lines: list[str], borrower_id: str, turns: list[float]) -> None:
    url = gateway.replace("http://", "ws://") + "/ws/chat?" + urlencode({"borrower_link": borrower_link(borrower_id)})
    async with websockets.connect(url, max_size=2**20) as socket:
        async def until_turn_complete() -> None:
            while json.loads(await socket.recv())["type"] != "turn_complete":
                pass
        await until_turn_complete()
        for line in lines:
            started = time.perf_counter()
            await socket.send(json.dumps({"type": "user", "text": line}, ensure_ascii=False))
            await until_turn_complete()
            turns.append(time.perf_counter() - started)


async def _rasa_conversation(rasa: str, token: str, lines: list[str], borrower_id: str, turns: list[float]) -> None:
    sender = uuid.uuid4().hex
    metadata = {"borrower_id": borrower_id, "channel": "bench", "timezone": "Asia/Shanghai", "now": FIXED_NOW}
    async with httpx.AsyncClient(base_url=rasa, timeout=60, headers={"Authorization": f"Bearer {token}"}) as http:
        await http.post(TURN_WEBHOOK, json={"sender": sender, "message": "/start_conversation", "metadata": metadata})
        for line in lines:
            started = time.perf_counter()
            response = await http.post(TURN_WEBHOOK, json={"sender": sender, "message": line, "metadata": metadata})
            response.raise_for_status()
            turns.append(time.perf_counter() - started)


async def _run(kind: str, stack: Stack, ledger: Ledger, borrower_ids: list[str], concurrency: int) -> tuple[list[float], float]:
    turns: list[float] = []
    queue = list(borrower_ids)
    started = time.perf_counter()

    async def worker() -> None:
        while queue:
            borrower_id = queue.pop()
            lines = _script(ledger, borrower_id)
            if kind == "gateway":
                await _gateway_conversation(stack.gateway_url, lines, borrower_id, turns)
            else:
                await _rasa_conversation(stack.rasa_url, stack.config.rasa_token, lines, borrower_id, turns)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return turns, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=30)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    args = parser.parse_args()
    with benchmark_stack("chat", borrowers=1000, port_base=25000, redis_db=11, gateway_env=UNTHROTTLED) as (stack, ledger):
        zh_ids = chinese_borrower_ids(ledger, 1000)
        print(f"{args.conversations} conversations x 5 borrower turns each (verification, promise, how-to-pay, close)\n")
        offset = 0
        for kind in ("rasa", "gateway"):
            for concurrency in args.concurrency:
                ids = zh_ids[offset:offset + args.conversations]
                offset += args.conversations
                turns, elapsed = asyncio.run(_run(kind, stack, ledger, ids, concurrency))
                label = "Rasa channel directly" if kind == "rasa" else "gateway WebSocket    "
                print(f"{label}  concurrency {concurrency:2d}:  {_percentiles(turns)}   {len(turns) / elapsed:6.1f} msgs/s")


if __name__ == "__main__":
    main()
