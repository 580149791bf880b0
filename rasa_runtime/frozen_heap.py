"""Once the model is loaded, the objects a replica holds for its whole life (TensorFlow's and Rasa's modules, the
loaded graph: about 700,000 objects) are moved out of the garbage collector's reach with `gc.freeze()`.

Python's full (oldest-generation) collection walks every tracked object. With the model loaded one takes 0.3–0.6 s
and stops the replica's event loop, so every turn in flight on it waits. Such collections are rare (none in 1,000
parsed messages: one runs only when the objects that survived since the last reach a quarter of the old ones), so
they hide from a short benchmark and hit a long-running replica. Frozen objects are never walked: a full collection
then takes about 2 ms (benchmarks/rasa_gc_pause.py).

They are never freed either, which is what a loaded model's objects are for: a model swapped in at run time
through Rasa's HTTP API would keep the old one's cyclic garbage (this project restarts a replica instead).

Installed by scripts/run_rasa.py before Rasa starts.
"""
from __future__ import annotations

import functools
import gc
from typing import Any, Awaitable, Callable

import rasa.core.run


def frozen_after(load: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(load)
    async def load_then_freeze(*args: Any, **kwargs: Any) -> Any:
        loaded = await load(*args, **kwargs)
        gc.collect()  # what loading left as garbage is freed first, not frozen with the rest
        gc.freeze()
        return loaded
    return load_then_freeze


def install() -> None:
    # serve_application registers `partial(load_agent_on_start, ...)` by the module's name at start-up
    rasa.core.run.load_agent_on_start = frozen_after(rasa.core.run.load_agent_on_start)
