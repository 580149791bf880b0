"""Once the model is loaded, a replica settles its heap: the garbage loading left is collected and the memory loading
freed is given back to the system. glibc kept about 100 MiB of loading's temporaries in each replica.

Not frozen (`gc.freeze()`): it was measured and made things worse. A full collection of the loaded replica walks
about 780,000 objects and stops it for 0.6–0.8 s, but Python runs one only when the survivors since the last reach
a quarter of the old objects, so almost never (none in 1,000 parsed messages). Frozen objects no longer count as
old, so full collections of what turns create came far more often: Rasa's CPU a message (two replicas, 25 msg/s
offered) went from about 29 ms to 42 ms and the p95 through the gateway from 146–230 ms to 465–728 ms.

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
        gc.collect()  # loading's cyclic garbage, so that its memory is free to give back
        freed_memory.return_to_system()
        return loaded
    return load_then_settle


def install() -> None:
    # serve_application registers `partial(load_agent_on_start, ...)` by the module's name at start-up
    rasa.core.run.load_agent_on_start = settled_after(rasa.core.run.load_agent_on_start)
