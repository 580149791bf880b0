"""A Rasa replica settles its heap once its model is loaded (rasa_runtime/settled_heap.py): the loader's result
comes back unchanged, the garbage loading left is collected, nothing is frozen (freezing made full collections
frequent), and the start-up listener Rasa registers is the settling one. Runs in Rasa's own environment (.venv-rasa), as the Rasa server does."""
from __future__ import annotations

from tests.rasa_script import run_in_rasa

FREEZES = r"""
import asyncio, gc, json, weakref
import rasa.core.run
from rasa_runtime import settled_heap

class Node:
    pass

garbage = []

async def load(name):
    kept = [Node() for _ in range(5000)]
    cycle = Node()
    cycle.me = cycle  # garbage only a collection can free
    garbage.append(weakref.ref(cycle))
    return name, kept

rasa_load = rasa.core.run.load_agent_on_start
settled_heap.install()
before = gc.get_freeze_count()
name, kept = asyncio.run(settled_heap.settled_after(load)("model"))
print(json.dumps({"result": name, "frozen": gc.get_freeze_count() - before, "kept": len(kept),
                  "cycle freed": garbage[0]() is None,
                  "listener wraps rasa's": rasa.core.run.load_agent_on_start.__wrapped__ is rasa_load}))
"""


def test_loading_the_model_collects_its_garbage_and_freezes_nothing():
    (result,) = run_in_rasa(FREEZES)
    assert result["result"] == "model" and result["kept"] == 5000
    assert result["cycle freed"]
    assert result["frozen"] == 0
    assert result["listener wraps rasa's"]
