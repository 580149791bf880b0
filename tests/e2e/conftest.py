"""A second real stack for the tests that break things (tests/e2e/test_restarts.py, test_faults.py): its own
Rasa, action server and gateway, and its own redis-server persisting to an append-only file, so Redis, Rasa
and the action server can be killed and restarted without disturbing the shared `stack`. One per session:
each Rasa start costs up to a minute.

It is also the stack with an agent line (tests/e2e/test_call_handover.py): a phone call handed to a person is
transferred through the carrier, a fake Twilio on TRANSFER_CARRIER_PORT; the shared stack has none, as a
deployment without one, and books callbacks instead."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import pytest

from bot.launcher import Stack, StackConfig
from tests.e2e.console_client import add_console_accounts
from tests.stack import FIXED_NOW, GATEWAY_TEST_SETTINGS, PrivateRedis, _free_port

DEADLINE_SECONDS = 120  # waits in these tests end on an event; the deadline only stops a hang
LOCKOUT_WINDOW_SECONDS = 5
MAX_FAILED_SIGN_INS = 3
# A turn Rasa has not answered in this long gets the fault reply (the shared stack keeps the 10 s default);
# long enough for a real turn on a loaded two-core machine.
REPLY_WAIT_SECONDS = 20
CIRCUIT_FAILURE_THRESHOLD = 3
CIRCUIT_COOLDOWN_SECONDS = 2
# The agent line phone calls are transferred to, through the fake Twilio's REST API on this port.
AGENT_LINE = "+861088886666"
TRANSFER_ACCOUNT_SID = "AC" + "7a" * 16
TRANSFER_CARRIER_PORT = _free_port()


# A service dies with the thread that started it (the launcher's PR_SET_PDEATHSIG is per thread), and the
# threads of asyncio.to_thread end with each test's event loop: restarts from async tests run on this
# thread, which lives as long as the session.
_RESTART_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stack-restarts")


async def restart_off_the_loop(restart: Callable[[], None]) -> None:
    """Runs a Stack restart without blocking the test's event loop (a call's line must keep going)."""
    await asyncio.get_running_loop().run_in_executor(_RESTART_THREAD, restart)


@pytest.fixture(scope="session")
def private_redis(tmp_path_factory):
    server = PrivateRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def restartable_stack(model_path, private_redis, ledger_url, audit_settings, recording_settings, tmp_path_factory):
    add_console_accounts(ledger_url)
    gateway_port = _free_port()
    settings = {
        **GATEWAY_TEST_SETTINGS,
        "COLLECTIONS_CONSOLE_MAX_FAILED_SIGN_INS": str(MAX_FAILED_SIGN_INS),
        "COLLECTIONS_CONSOLE_FAILED_SIGN_IN_WINDOW_SECONDS": str(LOCKOUT_WINDOW_SECONDS),
        "COLLECTIONS_RASA_REPLY_WAIT_SECONDS": str(REPLY_WAIT_SECONDS),
        # A paused Rasa's late answer must outlast the pause (the reply wait, then the call's fault reply spoken):
        # at the default 30 s the late turn was lost whenever the machine was slow.
        "COLLECTIONS_RASA_TIMEOUT_SECONDS": "90",
        "COLLECTIONS_RASA_CIRCUIT_FAILURE_THRESHOLD": str(CIRCUIT_FAILURE_THRESHOLD),
        "COLLECTIONS_RASA_CIRCUIT_COOLDOWN_SECONDS": str(CIRCUIT_COOLDOWN_SECONDS),
        # A call must stay up while Rasa restarts (a minute): no silence hang-up here (tested on the shared stack).
        "COLLECTIONS_VOICE_REPROMPT_AFTER_SILENCE_SECONDS": "600",
        # The shared ledger's audit is signed with the shared key and anchor, whichever stack writes it.
        "COLLECTIONS_AUDIT_KEY_FILE": str(audit_settings.key_file),
        "COLLECTIONS_AUDIT_ANCHOR_FILE": str(audit_settings.anchor_file),
        "COLLECTIONS_HANDOFF_AGENT_LINE": AGENT_LINE,
        "COLLECTIONS_DIALER_ACCOUNT_SID": TRANSFER_ACCOUNT_SID,
        "COLLECTIONS_DIALER_API_BASE": f"http://127.0.0.1:{TRANSFER_CARRIER_PORT}",
        # Where the carrier reports how a transfer's <Dial> ended (the gateway as the carrier reaches it).
        "COLLECTIONS_VOICE_PUBLIC_URL": f"http://127.0.0.1:{gateway_port}",
        "COLLECTIONS_RECORDINGS_DIRECTORY": str(recording_settings.directory),
    }
    config = StackConfig(
        model=model_path, rasa_port=_free_port(), action_port=_free_port(), gateway_port=gateway_port,
        redis_url=private_redis.url, ledger_url=ledger_url, fixed_now=FIXED_NOW,
        log_dir=tmp_path_factory.mktemp("restart-logs"), extra_env=settings,
    )
    running = Stack(config).start()
    yield running
    running.stop()
