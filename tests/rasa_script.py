"""Runs a script in Rasa's own environment (.venv-rasa, Python 3.10), for unit tests of code that runs inside Rasa
(rasa_runtime/, rasa_channels/): the script prints its results as JSON lines last."""
from __future__ import annotations

import json
import subprocess
from typing import Any

from bot.launcher import ROOT

RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"


def run_in_rasa(script: str, *args: str, results: int = 1, timeout: float = 180) -> list[Any]:
    """The last `results` lines the script printed, each parsed as JSON; fails the test with its stderr if it failed."""
    run = subprocess.run([str(RASA_PYTHON), "-c", script, *args], cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false"},
                         capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, run.stderr[-3000:]
    return [json.loads(line) for line in run.stdout.strip().splitlines()[-results:]]
