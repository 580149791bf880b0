"""Rasa's CPU per NLU parse for a model: starts `rasa run --enable-api` on a free port, posts training-data lines
(never the held-out sets) to /model/parse one at a time, and reads the server process's CPU time (user+system,
/proc) around them — the cost per message, whatever else the machine runs. Also its RSS after the run.

    .venv/bin/python -m benchmarks.nlu_parse_cost models/collections-<hash>.tar.gz [--messages 400]
"""
from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from tests.unit.test_nlu_data import training_examples

ROOT = Path(__file__).resolve().parents[1]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(model: str, messages: int, seed: int = 11) -> dict:
    # NLU only: no action server, no channels (endpoints.yml would need the stack's variables).
    empty = Path(tempfile.mkdtemp(prefix="nlu-parse-cost-")) / "empty.yml"
    empty.write_text("{}\n")
    texts = [e.text for e in training_examples()]
    random.Random(seed).shuffle(texts)
    texts = texts[:messages]
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false"}
    server = subprocess.Popen([str(ROOT / ".venv-rasa" / "bin" / "rasa"), "run", "--enable-api", "--model", model,
                               "--port", str(port), "--interface", "127.0.0.1",
                               "--endpoints", str(empty), "--credentials", str(empty)],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=url, timeout=60) as http:
            deadline = time.monotonic() + 900
            while True:
                try:
                    if http.get("/status").status_code == 200 and http.post("/model/parse", json={"text": "你好"}).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("rasa did not come up")
                time.sleep(2)
            for text in texts[:20]:  # warm-up
                http.post("/model/parse", json={"text": text})
            cpu0, wall0 = _cpu_seconds(server.pid), time.perf_counter()
            for text in texts:
                http.post("/model/parse", json={"text": text}).raise_for_status()
            cpu1, wall1 = _cpu_seconds(server.pid), time.perf_counter()
            return {"messages": len(texts), "cpu_ms_per_message": round((cpu1 - cpu0) / len(texts) * 1000, 1),
                    "wall_ms_per_message": round((wall1 - wall0) / len(texts) * 1000, 1),
                    "rss_mb": round(_rss_mb(server.pid)), "model_mb": round(os.path.getsize(model) / 2**20, 1)}
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+")
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=1, help="alternate the models this many times")
    args = parser.parse_args()
    for round_ in range(args.rounds):
        for model in args.models:
            print(round_, model, measure(model, args.messages), flush=True)


if __name__ == "__main__":
    main()
