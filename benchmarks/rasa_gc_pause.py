"""How long Python's full garbage collection stops a Rasa replica and how often one comes, and the replica's resident
memory, with and without the heap settled after loading (rasa_runtime/settled_heap.py: garbage collected, freed
memory given back). Loads the model as a replica does, parses messages, and times every collection the interpreter
ran by itself (gc.callbacks) and one full collection forced at the end. Runs in Rasa's environment:

    .venv-rasa/bin/python -m benchmarks.rasa_gc_pause models/collections-<hash>.tar.gz [--messages 2000] [--settled]
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time

sys.modules["jax"] = None  # type: ignore[assignment]  # as scripts/run_rasa.py: a replica never loads it

MESSAGES = ["对，我就是本人", "身份证后四位是3821", "我欠多少钱", "能不能分十二个月还？", "我下周五还五千", "好的，谢谢",
            "yes this is me", "how much do I owe", "can I pay 300 next friday", "I lost my job"]


class CollectionTimer:
    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._started = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses[info["generation"]].append((time.perf_counter() - self._started) * 1000)


def resident_mib() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmRSS"))


async def measure(model: str, messages: int, settled: bool) -> None:
    from rasa.core.agent import load_agent
    from rasa_runtime.settled_heap import settled_after

    load = settled_after(load_agent) if settled else load_agent
    agent = await load(model_path=model)
    print(f"objects the collector tracks: {len(gc.get_objects()):,}; resident {resident_mib():,} MiB")
    timer = CollectionTimer()
    gc.callbacks.append(timer)
    started = time.perf_counter()
    for index in range(messages):
        await agent.parse_message(MESSAGES[index % len(MESSAGES)])
    elapsed = time.perf_counter() - started
    gc.callbacks.remove(timer)
    forced = time.perf_counter()
    gc.collect()
    forced_ms = (time.perf_counter() - forced) * 1000
    print(f"{messages} messages parsed in {elapsed:.1f} s; resident {resident_mib():,} MiB")
    for generation, pauses in timer.pauses.items():
        if pauses:
            print(f"  generation {generation}: {len(pauses):5d} collections, mean {statistics.mean(pauses):7.2f} ms, "
                  f"max {max(pauses):7.2f} ms")
        else:
            print(f"  generation {generation}:     0 collections")
    print(f"a full collection forced at the end: {forced_ms:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--settled", action="store_true", help="settle the heap after loading, as a replica does")
    args = parser.parse_args()
    asyncio.run(measure(args.model, args.messages, args.settled))


if __name__ == "__main__":
    main()
