"""An agent's side of the console API, for tests: signs in and calls /api/console with its token."""
from __future__ import annotations

from typing import Any

import httpx

from ledger.db import make_engine, make_session_factory
from bot.console.agents import AgentDirectory

PASSWORD = "e2e console password"
ACCOUNTS = (("e2e-agent-a", "agent"), ("e2e-agent-b", "agent"), ("e2e-supervisor", "supervisor"),
            ("e2e-reviewer", "reviewer"))


def add_console_accounts(ledger_url: str) -> None:
    """The test agents, in the ledger database the gateway reads (same password each)."""
    engine = make_engine(ledger_url)
    agents = AgentDirectory(make_session_factory(engine))
    for name, role in ACCOUNTS:
        agents.add(name, role, PASSWORD, replace=True)
    engine.dispose()


class Console:
    def __init__(self, gateway_url: str, name: str, password: str) -> None:
        self.http = httpx.Client(base_url=gateway_url, timeout=60)
        signed_in = self.http.post("/api/console/login", json={"name": name, "password": password})
        assert signed_in.status_code == 200, signed_in.text
        self.name = name
        self.http.headers["Authorization"] = f"Bearer {signed_in.json()['token']}"

    def queue(self) -> list[dict[str, Any]]:
        return self.http.get("/api/console/queue").json()["queue"]

    def waiting(self, conversation_id: str) -> dict[str, Any] | None:
        return next((entry for entry in self.queue() if entry["conversation_id"] == conversation_id), None)

    def take(self, conversation_id: str) -> httpx.Response:
        return self.http.post(f"/api/console/conversations/{conversation_id}/take")

    def view(self, conversation_id: str) -> httpx.Response:
        return self.http.get(f"/api/console/conversations/{conversation_id}")

    def send(self, conversation_id: str, text: Any) -> httpx.Response:
        return self.http.post(f"/api/console/conversations/{conversation_id}/messages", json={"text": text})

    def hand_back(self, conversation_id: str) -> httpx.Response:
        return self.http.post(f"/api/console/conversations/{conversation_id}/hand-back")

    def close(self) -> None:
        self.http.close()
