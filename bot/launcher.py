"""Starts the whole system on one machine: action server, Rasa, gateway. Used by scripts/start.sh
and by the end-to-end tests, so both run exactly the same processes."""
from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx

ROOT = Path(__file__).resolve().parents[1]
RASA_BIN = ROOT / ".venv-rasa" / "bin" / "rasa"
APP_PYTHON = ROOT / ".venv" / "bin" / "python"
RASA_START_TIMEOUT_SECONDS = 300


@dataclass
class StackConfig:
    model: Path
    rasa_port: int = 5005
    action_port: int = 5055
    gateway_port: int = 8000
    redis_url: str | None = None
    ledger_url: str | None = None
    fixed_now: str | None = None
    rasa_token: str = field(default_factory=lambda: secrets.token_hex(24))
    log_dir: Path = ROOT / "var" / "logs"
    extra_env: dict[str, str] = field(default_factory=dict)  # e.g. COLLECTIONS_* settings a test needs


def _die_with_parent() -> None:
    """Runs in each child before exec: if the launcher dies (even by SIGKILL), so do the services."""
    os.setsid()
    if sys.platform.startswith("linux"):
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _redis_env(redis_url: str) -> dict[str, str]:
    """Rasa's Redis tracker/lock store wants host, port, db and password separately."""
    parsed = urlparse(redis_url)
    return {
        "REDIS_HOST": parsed.hostname or "127.0.0.1",
        "REDIS_PORT": str(parsed.port or 6379),
        "REDIS_DB": (parsed.path or "/0").lstrip("/") or "0",
        "REDIS_PASSWORD": parsed.password or "",
    }


class Stack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self._processes: list[subprocess.Popen] = []

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.config.gateway_port}"

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.config.rasa_port}"

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTIONS_")}
        env.update({
            "PYTHONPATH": str(ROOT),
            "RASA_TELEMETRY_ENABLED": "false",
            "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{self.config.action_port}/webhook",
            "COLLECTIONS_RASA_URL": self.rasa_url,
            "COLLECTIONS_RASA_TOKEN": self.config.rasa_token,
        })
        env.pop("REDIS_URL", None)
        if self.config.redis_url:
            env["REDIS_URL"] = self.config.redis_url
            env.update(_redis_env(self.config.redis_url))
        if self.config.ledger_url:
            env["LEDGER_DATABASE_URL"] = self.config.ledger_url
        if self.config.fixed_now:
            env["COLLECTIONS_FIXED_NOW"] = self.config.fixed_now
        env.update(self.config.extra_env)
        return env

    def _spawn(self, name: str, command: list[str]) -> None:
        self.config.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.config.log_dir / f"{name}.log", "ab")
        self._processes.append(
            subprocess.Popen(command, cwd=ROOT, env=self._env(), stdout=log, stderr=subprocess.STDOUT,
                             preexec_fn=_die_with_parent)
        )

    def start_action_server(self) -> None:
        self._spawn("actions", [str(APP_PYTHON), "-m", "rasa_sdk", "--actions", "actions",
                                "--port", str(self.config.action_port)])

    def start_rasa(self) -> None:
        endpoints = "endpoints.redis.yml" if self.config.redis_url else "endpoints.yml"
        self._spawn("rasa", [
            str(RASA_BIN), "run", "--enable-api", f"--auth-token={self.config.rasa_token}",
            "--interface", "127.0.0.1", "--port", str(self.config.rasa_port),
            "--model", str(self.config.model), "--endpoints", endpoints,
            "--credentials", "credentials.yml", "--cors", "http://127.0.0.1",
        ])

    def start_gateway(self) -> None:
        self._spawn("gateway", [str(APP_PYTHON), "-m", "uvicorn", "--factory", "bot.asgi:create_asgi_app",
                                "--host", "127.0.0.1", "--port", str(self.config.gateway_port)])

    def start(self) -> "Stack":
        self.start_action_server()
        self.start_rasa()
        self.start_gateway()
        self.wait_until_ready()
        return self

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + RASA_START_TIMEOUT_SECONDS
        checks = {
            "actions": f"http://127.0.0.1:{self.config.action_port}/health",
            "gateway": f"{self.gateway_url}/health",
            "rasa": f"{self.rasa_url}/status?token={self.config.rasa_token}",
        }
        pending = dict(checks)
        while pending:
            for name, url in list(pending.items()):
                try:
                    response = httpx.get(url, timeout=2)
                    if response.status_code == 200 and (name != "rasa" or response.json().get("model_file")):
                        pending.pop(name)
                except httpx.HTTPError:
                    pass
            for process in self._processes:
                if process.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"a service exited during start-up; see {self.config.log_dir}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"services not ready: {sorted(pending)}; see {self.config.log_dir}")
            if pending:
                time.sleep(1)

    def restart_gateway(self) -> None:
        """For tests that show a gateway restart loses nothing."""
        gateway = self._processes.pop()
        self._terminate(gateway)
        self.start_gateway()
        self.wait_until_ready()

    @staticmethod
    def _terminate(process: subprocess.Popen) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def stop(self) -> None:
        for process in reversed(self._processes):
            self._terminate(process)
        self._processes.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description="Start the collections assistant on this machine.")
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--gateway-port", type=int, default=8000)
    args = parser.parse_args()
    stack = Stack(StackConfig(model=args.model, gateway_port=args.gateway_port,
                              redis_url=os.environ.get("REDIS_URL") or None))
    print("Starting action server, Rasa (about a minute to load the model) and gateway ...", flush=True)
    stack.start()
    store = "Redis at " + stack.config.redis_url if stack.config.redis_url else "in-memory stores"
    print(f"\nReady: gateway {stack.gateway_url} ({store}); logs in {stack.config.log_dir}\n"
          f"Chat in another terminal as demo borrower 张伟 (ID last four 3821):\n"
          f"  .venv/bin/python -m bot.chat_cli --gateway {stack.gateway_url} --borrower B000001\n"
          f"REST: POST {stack.gateway_url}/api/conversations {{\"borrower_id\": \"B000001\"}}\n"
          f"Web chat widget: {stack.gateway_url}/demo/webchat?borrower_id=B000001\n"
          f"Voice in the browser: {stack.gateway_url}/demo/voice?borrower_id=B000001\n"
          f"Agent console: {stack.gateway_url}/console (agent1 / demo-agent-1, supervisor1 / demo-supervisor-1)\n"
          f"Press Ctrl-C to stop.", flush=True)
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        stack.stop()


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    sys.exit(main())
