"""One real system for the whole session: Rasa with the trained model, the rasa-sdk action server,
the gateway, Redis for trackers/locks/sessions, and a seeded SQLite ledger. The gateway reaches Rasa
through a counting proxy, so tests can see what reached Rasa."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Iterator

import pytest
import redis

from configuration.settings import AuditSettings, RecordingSettings
from ledger.db import create_schema, make_engine, make_session_factory
from ledger.repository import Ledger
from ledger.seed import FIRST_US_NUMBER, seed_demo_portfolio
from bot.launcher import ROOT, Stack, StackConfig
from tests.e2e.chat import ARRIVAL_SECRETS_ENV, Chat
from tests.fakes.wechat_api import FakeWeChatApi
from tests.rasa_requests import RasaRequests

# The conversation clock every e2e test runs on: Monday 23 November 2026, 10:00 in Shanghai.
FIXED_NOW = "2026-11-23T10:00:00+08:00"
TODAY = datetime.fromisoformat(FIXED_NOW).date()
PRIVATE_REDIS_DEADLINE_SECONDS = 120  # waits end on an event; the deadline only stops a hang
SEEDED_BORROWERS = 400
SEEDED_US_BORROWERS = 80
# Gateway settings the shared stack runs with (one stack serves every e2e test; Rasa loads once).
GATEWAY_TEST_SETTINGS: dict[str, str] = {**ARRIVAL_SECRETS_ENV}  # tests sign links and carrier requests
# Handoff: a conversation nobody takes is offered a callback after 8 s (not 5 minutes); the policy triggers
# (large balance, legal stage) are off so that no other test's borrower is queued by them.
HANDOFF_WAIT_TIMEOUT_SECONDS = 8
GATEWAY_TEST_SETTINGS.update({
    "COLLECTIONS_HANDOFF_WAIT_TIMEOUT_SECONDS": str(HANDOFF_WAIT_TIMEOUT_SECONDS),
    "COLLECTIONS_HANDOFF_POLICY_FILE": str(ROOT / "tests" / "e2e" / "handoff_policy.yml"),
})


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# The WeChat channel is on, its customer-service API pointed at a fake WeChat server on this port (the
# `wechat_api` fixture in tests/e2e/test_wechat_callback.py). A 50 ms passive budget, which no Rasa turn
# meets, sends bot turns through that API, as production does when a turn misses WeChat's 5 seconds.
WECHAT_TEST_TOKEN = "e2e-wechat-token"
WECHAT_TEST_APP_ID = "wxe2e0000000000000"
WECHAT_TEST_APP_SECRET = "e2e-wechat-secret"
WECHAT_FAKE_API_PORT = _free_port()
GATEWAY_TEST_SETTINGS.update({
    "COLLECTIONS_WECHAT_TOKEN": WECHAT_TEST_TOKEN,
    "COLLECTIONS_WECHAT_APP_ID": WECHAT_TEST_APP_ID,
    "COLLECTIONS_WECHAT_APP_SECRET": WECHAT_TEST_APP_SECRET,
    "COLLECTIONS_WECHAT_API_BASE": f"http://127.0.0.1:{WECHAT_FAKE_API_PORT}",
    "COLLECTIONS_WECHAT_PASSIVE_REPLY_BUDGET_SECONDS": "0.05",
})
# A lender's own site embeds the widget from another origin (tests/browser/test_webchat_cross_origin.py):
# served on this port, it is listed as http://localhost:<port>; the same page reached as 127.0.0.1 is not.
LENDER_SITE_PORT = _free_port()
GATEWAY_TEST_SETTINGS["COLLECTIONS_GATEWAY_WEBCHAT_CORS_ORIGINS"] = f'["http://localhost:{LENDER_SITE_PORT}"]'

# Resource limits high enough that the suite (every test from 127.0.0.1, many conversations in seconds) is
# never throttled; tests/e2e/test_limits.py starts a gateway of its own with low ones.
GATEWAY_TEST_SETTINGS.update({
    "COLLECTIONS_GATEWAY_MESSAGES_PER_CLIENT": "100000/minute",
    "COLLECTIONS_GATEWAY_MESSAGES_PER_CONVERSATION": "10000/minute",
    "COLLECTIONS_GATEWAY_OPENS_PER_CLIENT": "100000/minute",
    "COLLECTIONS_GATEWAY_MAX_SOCKETS_PER_CLIENT": "1000",
})
# Voice calls: a silent line is re-prompted after 4 s (not 8), so the silence test takes seconds.
GATEWAY_TEST_SETTINGS["COLLECTIONS_VOICE_REPROMPT_AFTER_SILENCE_SECONDS"] = "4"
# Calls our dialer places (tests/e2e/test_outbound_call.py): a machine hears the limited-content message.
GATEWAY_TEST_SETTINGS["COLLECTIONS_DIALER_MACHINE_POLICY"] = "leave_message"
# Every number heard after verification is read back, so what a call test hears does not depend on how sure the
# recogniser happened to be of synthesised speech over a μ-law line.
GATEWAY_TEST_SETTINGS["COLLECTIONS_VOICE_CONFIRM_VALUES_BELOW_CONFIDENCE"] = "1"
# The token Prometheus would present on /metrics (a setting, so no test writes var/metrics.key).
METRICS_TEST_TOKEN = "e2e-metrics-token-not-secret"
GATEWAY_TEST_SETTINGS["COLLECTIONS_METRICS_TOKEN"] = METRICS_TEST_TOKEN


# scripts/test.sh trains the model while the tests that need none run; it names the directory where the training
# leaves its exit status (`status`), the model's path (`model`) and its log (`log`).
TRAINING_DIRECTORY_ENV = "COLLECTIONS_TEST_MODEL_TRAINING"
TRAINING_POLL_SECONDS = 2


def wait_for_training() -> None:
    """Returns once the training scripts/test.sh started has ended, if it started one."""
    if (training := os.environ.get(TRAINING_DIRECTORY_ENV)) and not os.environ.get("COLLECTIONS_TEST_MODEL"):
        directory = Path(training)
        while not (directory / "status").exists() and _training_alive(directory):
            time.sleep(TRAINING_POLL_SECONDS)


def _training_alive(directory: Path) -> bool:
    try:
        os.kill(int((directory / "pid").read_text()), 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return (directory / "status").exists()  # the status is written just before the training's shell ends
    return True


def trained_model() -> str:
    """The model's path: given, from the training scripts/test.sh started, or trained here."""
    if given := os.environ.get("COLLECTIONS_TEST_MODEL"):
        return given
    if training := os.environ.get(TRAINING_DIRECTORY_ENV):
        wait_for_training()
        directory = Path(training)
        status = directory / "status"
        if not status.exists() or status.read_text().strip() != "0":
            log = (directory / "log").read_text(errors="replace").splitlines()
            pytest.fail("training the model failed:\n" + "\n".join(log[-40:]), pytrace=False)
        os.environ["COLLECTIONS_TEST_MODEL"] = (directory / "model").read_text().strip()
        return os.environ["COLLECTIONS_TEST_MODEL"]
    return subprocess.check_output(["bash", "scripts/train.sh"], cwd=ROOT, text=True).strip()


@pytest.fixture(scope="session")
def model_path() -> Path:
    return ROOT / trained_model()


class PrivateRedis:
    """redis-server on a free port with its own directory: a test's data is never anyone else's, so nothing
    has to be claimed or flushed. `durable`: every write goes to an append-only file before it is
    acknowledged, so a restarted (or killed) server comes back with it."""

    def __init__(self, directory: Path, durable: bool = True) -> None:
        self.directory = directory
        self.durable = durable
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if self.durable else ["--appendonly", "no"]
        subprocess.run(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--daemonize", "yes",
                        "--dir", str(self.directory), *persistence, "--save", "",
                        "--pidfile", str(self.directory / "redis.pid"),
                        "--logfile", str(self.directory / "redis.log")], check=True)
        self._wait(lambda: redis.Redis.from_url(self.url).ping())

    def stop(self) -> None:
        try:
            redis.Redis.from_url(self.url).shutdown()  # SHUTDOWN: the append-only file is flushed first
        except redis.ConnectionError:
            pass  # the connection closes as the server exits

    def kill(self) -> None:
        """SIGKILL, as a crash: only what the append-only file already holds survives."""
        pid = int((self.directory / "redis.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + PRIVATE_REDIS_DEADLINE_SECONDS
        while True:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            assert time.monotonic() < deadline, "redis-server outlived SIGKILL"
            time.sleep(0.05)
        (self.directory / "redis.pid").unlink(missing_ok=True)

    @staticmethod
    def _wait(ready) -> None:
        deadline = time.monotonic() + PRIVATE_REDIS_DEADLINE_SECONDS
        while True:
            try:
                if ready():
                    return
            except redis.ConnectionError:
                pass
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> Iterator[str]:
    """The shared stack's Redis: a server of its own for the session (two test sessions on one machine, or a
    developer's own Redis, can never see each other's keys)."""
    server = PrivateRedis(tmp_path_factory.mktemp("stack-redis"), durable=False)
    server.start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def unit_redis_url(tmp_path_factory) -> Iterator[str]:
    """Redis for the unit tests that need a real one: COLLECTIONS_TEST_REDIS_URL exactly as given (a database
    the caller set aside for tests), else a server of the session's own. Never a skip: redis-server is
    installed by scripts/setup.sh, and a missing one fails here, naming it."""
    if designated := os.environ.get("COLLECTIONS_TEST_REDIS_URL"):
        try:
            redis.Redis.from_url(designated).ping()
        except redis.ConnectionError as error:
            pytest.fail(f"COLLECTIONS_TEST_REDIS_URL={designated} does not answer ({error})")
        yield designated
        return
    server = PrivateRedis(tmp_path_factory.mktemp("unit-redis"), durable=False)
    server.start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def ledger_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('ledger') / 'ledger.sqlite3'}"
    engine = make_engine(url)
    create_schema(engine)
    seed_demo_portfolio(make_session_factory(engine), count=SEEDED_BORROWERS, us_count=SEEDED_US_BORROWERS, as_of=TODAY)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def rasa_port() -> int:
    return _free_port()


@pytest.fixture(scope="session")
def rasa_requests(rasa_port) -> Iterator[RasaRequests]:
    """Every request that reached the stack's Rasa, per conversation: the gateway talks to Rasa through it."""
    with RasaRequests(f"http://127.0.0.1:{rasa_port}") as requests:
        yield requests


@pytest.fixture(scope="session")
def audit_settings(tmp_path_factory) -> AuditSettings:
    """The stack's audit key and anchor file: its own, beside its own ledger (never var/'s)."""
    directory = tmp_path_factory.mktemp("audit")
    return AuditSettings(key_file=directory / "audit.key", anchor_file=directory / "audit.anchor")


@pytest.fixture(scope="session")
def recording_settings(tmp_path_factory) -> RecordingSettings:
    """Where the stacks' call recordings go: beside their ledger (never var/'s), shared as the ledger is."""
    return RecordingSettings(directory=tmp_path_factory.mktemp("recordings"))


@pytest.fixture(scope="session")
def stack(model_path, redis_url, ledger_url, rasa_port, rasa_requests, audit_settings, recording_settings,
          tmp_path_factory):
    audit_env = {"COLLECTIONS_AUDIT_KEY_FILE": str(audit_settings.key_file),
                 "COLLECTIONS_AUDIT_ANCHOR_FILE": str(audit_settings.anchor_file),
                 "COLLECTIONS_RECORDINGS_DIRECTORY": str(recording_settings.directory)}
    config = StackConfig(
        model=model_path, rasa_port=rasa_port, action_port=_free_port(), gateway_port=_free_port(),
        gateway_rasa_url=rasa_requests.url, redis_url=redis_url, ledger_url=ledger_url, fixed_now=FIXED_NOW,
        log_dir=tmp_path_factory.mktemp("logs"), extra_env={**GATEWAY_TEST_SETTINGS, **audit_env},
    )
    running = Stack(config).start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def ledger(ledger_url) -> Ledger:
    return Ledger(make_session_factory(make_engine(ledger_url)))


class BorrowerPool:
    """Hands each test (or benchmark dialogue) a seeded borrower nobody else has touched, so ledger assertions are
    its own. Safe to share between threads."""

    def __init__(self, ledger: Ledger, seeded: int = SEEDED_BORROWERS, seeded_us: int = SEEDED_US_BORROWERS) -> None:
        self._ledger = ledger
        self._seeded, self._seeded_us = seeded, seeded_us
        self._taken: set[str] = set()
        self._views: dict[str, tuple] = {}  # borrower id -> (borrower, primary account): a pool scans often
        self._lock = threading.Lock()
        self._first = 5  # B000001–B000004 are the fixed demo borrowers

    def take(self, tiers: str = "ABCD", min_balance_cents: int = 0, where=None, language: str = "zh",
             keyable_id: bool = False):
        """`where(account)`, if given, must also hold: a test whose assertion depends on the account
        (fees to waive, say) asks for such an account instead of asserting only when it got one. `language`
        'en' takes a US borrower (English, USD, a US time zone). `keyable_id`: the ID's last four are digits a
        phone keypad can send (no X check character)."""
        numbers = (range(FIRST_US_NUMBER, FIRST_US_NUMBER + self._seeded_us) if language == "en"
                   else range(self._first, self._seeded + 1))
        with self._lock:
            for number in numbers:
                borrower_id = f"B{number:06d}"
                if borrower_id in self._taken:
                    continue
                borrower, account = self._view(borrower_id)
                if (borrower and account and borrower.language == language and account.risk_tier in tiers
                        and (not keyable_id or borrower.id_last4.isdigit())
                        and account.status == "collecting" and account.balance_cents >= min_balance_cents
                        and (where is None or where(account))):
                    self._taken.add(borrower_id)
                    return borrower, account
        raise LookupError(f"no unused seeded {language} borrower in tiers {tiers}")

    def _view(self, borrower_id: str) -> tuple:
        if borrower_id not in self._views:
            self._views[borrower_id] = (self._ledger.get_borrower(borrower_id),
                                        self._ledger.get_primary_account(borrower_id))
        return self._views[borrower_id]

    def number_of(self, borrower_id: str) -> str:
        """The borrower's phone number on file: what a fake carrier calls from."""
        number = self._ledger.contact_phone(borrower_id)
        assert number, f"{borrower_id} has no number on file"
        return number


@pytest.fixture(scope="session")
def wechat_api():
    """The fake WeChat server every test gateway's WeChat channel sends customer-service messages to."""
    with FakeWeChatApi(WECHAT_TEST_APP_ID, WECHAT_TEST_APP_SECRET, port=WECHAT_FAKE_API_PORT) as fake:
        yield fake


@pytest.fixture(scope="session")
def borrowers(ledger) -> BorrowerPool:
    return BorrowerPool(ledger)


@pytest.fixture
def open_chat(stack):
    opened: list[Chat] = []

    def _open(borrower_id: str) -> Chat:
        chat = Chat(stack.gateway_url, borrower_id)
        opened.append(chat)
        return chat

    yield _open
    for chat in opened:
        chat.close()


@pytest.fixture
def verified_chat(open_chat, borrowers):
    """A conversation that has passed right-party verification; returns (chat, borrower, account)."""

    def _verified(tiers: str = "ABCD", min_balance_cents: int = 0, where=None):
        borrower, account = borrowers.take(tiers, min_balance_cents, where)
        chat = open_chat(borrower.borrower_id)
        chat.say("对，我就是本人")
        reply = chat.say(f"身份证后四位是{borrower.id_last4}")
        assert "核实通过" in reply, reply
        return chat, borrower, account

    return _verified
