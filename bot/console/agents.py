"""Console accounts: per-agent credentials in the ledger database, passwords hashed with argon2id."""
from __future__ import annotations

import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session, sessionmaker

from ledger.models import AGENT_ROLES, ConsoleAgent

AGENT_NAME = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 256
_hasher = PasswordHasher()
# Verified against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


@dataclass(frozen=True)
class Agent:
    name: str
    role: str

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"

    @property
    def takes_conversations(self) -> bool:
        """Reviewers read and score finished conversations; they never talk to a borrower."""
        return self.role != "reviewer"

    @property
    def may_review(self) -> bool:
        return self.role in ("reviewer", "supervisor")


class AgentDirectory:
    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._sessions = session_factory

    def add(self, name: str, role: str, password: str, replace: bool = False) -> Agent:
        """Creates the account (or, with replace, resets its role and password)."""
        if not AGENT_NAME.match(name):
            raise ValueError("agent name: 2-64 letters, digits, '.', '_' or '-'")
        if role not in AGENT_ROLES:
            raise ValueError(f"role must be one of {AGENT_ROLES}")
        if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
            raise ValueError(f"password must be {MIN_PASSWORD_CHARS}-{MAX_PASSWORD_CHARS} characters")
        with self._sessions.begin() as session:
            row = session.get(ConsoleAgent, name)
            if row is not None and not replace:
                raise ValueError(f"agent {name} already exists")
            if row is None:
                row = ConsoleAgent(name=name)
                session.add(row)
            row.role = role
            row.password_hash = _hasher.hash(password)
            row.active = True
        return Agent(name, role)

    def authenticate(self, name: str, password: str) -> Agent | None:
        if not isinstance(name, str) or not isinstance(password, str) or len(password) > MAX_PASSWORD_CHARS:
            return None
        with self._sessions.begin() as session:
            row = session.get(ConsoleAgent, name) if AGENT_NAME.match(name) else None
            stored = row.password_hash if row is not None and row.active else _DUMMY_HASH
            agent = Agent(row.name, row.role) if row is not None and row.active else None
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        return agent

    def get(self, name: str) -> Agent | None:
        with self._sessions.begin() as session:
            row = session.get(ConsoleAgent, name)
            return Agent(row.name, row.role) if row is not None and row.active else None
