"""Once the model is loaded, a replica settles its heap: the garbage loading left is collected, the objects it holds
for its whole life (TensorFlow's and Rasa's modules, the loaded graph: about 700,000 objects) are frozen out of the
garbage collector's reach with `gc.freeze()`, and the memory loading freed is given back to the system.

Python's full (oldest-generation) collection walks every tracked object. With the model loaded one takes 0.3–0.6 s
and stops the replica's event loop, so every turn in flight on it waits. Such collections are rare (none in 1,000
parsed messages: one runs only when the objects that survived since the last reach a quarter of the old ones), so
they hide from a short benchmark and hit a long-running replica. Frozen objects are never walked: a full collection
then takes about 2 ms (benchmarks/rasa_gc_pause.py). They are never freed either, which is what a loaded model's
objects are for: a model swapped in at run time through Rasa's HTTP API would keep the old one's cyclic garbage
(this project restarts a replica instead).

Loading the model frees about 100 MiB of temporaries that glibc would otherwise keep in the replica.

Installed by scripts/run_rasa.py before Rasa starts.
"""
from __future__ import annotations

import functools
import gc
from typing import Any, Awaitable, Callable

import rasa.core.run

from rasa_runtime import freed_memory


def settled_after(load: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(load)
    async def load_then_settle(*args: Any, **kwargs: Any) -> Any:
        loaded = await load(*args, **kwargs)
        gc.collect()  # what loading left as garbage is freed first, not frozen with the rest
        gc.freeze()
        freed_memory.return_to_system()
        return loaded
    return load_then_settle


def install() -> None:
    # serve_application registers `partial(load_agent_on_start, ...)` by the module's name at start-up
    rasa.core.run.load_agent_on_start = settled_after(rasa.core.run.load_agent_on_start)
