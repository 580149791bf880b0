"""Runs the `rasa` command line with --auth-token taken from the environment (COLLECTIONS_RASA_TOKEN).

Rasa 3.6 reads its HTTP API token only from its arguments (rasa/cli/arguments/run.py: --auth-token; no
environment variable, and endpoints.yml/credentials.yml do not configure the server's own token). A
process's arguments are readable by every user of the host (ps, /proc/<pid>/cmdline); its environment
only by its owner (/proc/<pid>/environ is 0400). So the launcher passes the token in the environment and
this adds it to the arguments inside the process, where `ps` never sees it. The variable stays set: the
gateway channel (rasa_channels/gateway.py) checks the same token on every turn.

    .venv-rasa/bin/python scripts/run_rasa.py run --enable-api ...

It also installs the runtime changes of rasa_runtime/: the one-time-built validator of action server responses, the
event classes found once, HTTP connections to the action server kept open, the rule lookup that checks each rule
against its own states only, the tracker each turn saved, kept for the gateway channel, jieba's dictionary in a trie,
and the heap settled once the model is loaded (garbage collected, freed memory given back); and it keeps jax
unloaded.
"""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# TensorFlow's TFLite helpers import jax (installed as a TensorFlow dependency) for a converter Rasa never calls; with
# jax unimportable they go without it (their own `except ImportError`), and each replica is 96 MiB smaller (RSS 1,431 →
# 1,336 MiB with the model loaded).
sys.modules["jax"] = None  # type: ignore[assignment]

from rasa.__main__ import main  # noqa: E402

from rasa_runtime import (action_responses, compact_jieba, event_types, kept_connections, rule_lookup,  # noqa: E402
                          settled_heap, turn_tracker)

if __name__ == "__main__":
    for runtime_change in (action_responses, compact_jieba, event_types, kept_connections, rule_lookup, settled_heap,
                           turn_tracker):
        runtime_change.install()
    token = os.environ.get("COLLECTIONS_RASA_TOKEN", "")
    if token:
        sys.argv.append(f"--auth-token={token}")
    sys.exit(main())
