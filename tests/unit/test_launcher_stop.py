"""Stopping the stack (Ctrl-C or SIGTERM on scripts/start.sh) takes under 5 s with every service gone,
even when a service ignores SIGTERM or a caller holds a connection open."""
from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import websocket  # websocket-client: a plain, blocking peer that just keeps its socket open
from twilio.request_validator import RequestValidator

from bot.launcher import SERVICE_STOP_GRACE_SECONDS, STOP_GRACE_SECONDS, Stack, StackConfig

STOP_BUDGET_SECONDS = 5.0
CARRIER_AUTH_TOKEN = "launcher-stop-test-carrier-token"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_stop_kills_a_service_that_ignores_sigterm_within_the_budget(tmp_path: Path):
    stack = Stack(StackConfig(model=tmp_path / "no-model.tar.gz", log_dir=tmp_path))
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(120)"
    polite = "import time; print('up', flush=True); time.sleep(120)"
    for name, code in (("stubborn", stubborn), ("polite-1", polite), ("polite-2", polite)):
        stack._spawn(name, [sys.executable, "-c", code])
    processes = list(stack._processes)
    deadline = time.monotonic() + 30
    while not all((tmp_path / f"{name}.log").read_text().strip() for name in ("stubborn", "polite-1", "polite-2")):
        assert time.monotonic() < deadline, "test processes did not start"
        time.sleep(0.05)

    started = time.monotonic()
    stack.stop()
    took = time.monotonic() - started

    assert all(process.poll() is not None for process in processes)
    assert took < STOP_BUDGET_SECONDS
    assert took >= STOP_GRACE_SECONDS * 0.9, "the stubborn one must have been given its grace, then killed"


def test_the_campaign_worker_is_given_its_drain_not_the_short_grace(tmp_path: Path):
    """A worker finishing a contact after SIGTERM is waited for (a contact killed between its claim and its outcome
    would never be made), while the other services keep the short grace."""
    stack = Stack(StackConfig(model=tmp_path / "no-model.tar.gz", log_dir=tmp_path))
    finished = tmp_path / "contact-finished"
    draining = ("import signal, sys, time, pathlib\n"
                "def drain(*_):\n"
                f"    time.sleep({STOP_GRACE_SECONDS + 2}); pathlib.Path({str(finished)!r}).write_text('done'); sys.exit(0)\n"
                "signal.signal(signal.SIGTERM, drain); print('up', flush=True); time.sleep(120)")
    stack._spawn("campaigns", [sys.executable, "-c", draining])
    worker = stack._processes[0]
    deadline = time.monotonic() + 30
    while not (tmp_path / "campaigns.log").read_text().strip():
        assert time.monotonic() < deadline, "test process did not start"
        time.sleep(0.05)

    stack.stop()

    assert worker.returncode == 0 and finished.read_text() == "done", "the worker was killed before its contact ended"
    assert SERVICE_STOP_GRACE_SECONDS["campaigns"] > STOP_GRACE_SECONDS + 2


def test_the_real_gateway_stops_within_the_budget_with_a_call_connected(tmp_path: Path):
    """The gateway as the launcher runs it (uvicorn, every engine loaded), a phone media stream open."""
    config = StackConfig(
        model=tmp_path / "no-model.tar.gz", rasa_port=_free_port(), gateway_port=_free_port(), log_dir=tmp_path,
        ledger_url=f"sqlite:///{tmp_path / 'ledger.sqlite3'}",
        extra_env={"COLLECTIONS_VOICE_TWILIO_AUTH_TOKEN": CARRIER_AUTH_TOKEN},
    )
    stack = Stack(config)
    stack.start_gateway()
    stack.wait_until_ready(("gateway",))
    url = f"ws://127.0.0.1:{config.gateway_port}/voice/twilio"
    signature = RequestValidator(CARRIER_AUTH_TOKEN).compute_signature(url, {})
    call = websocket.create_connection(url, timeout=10, header=[f"X-Twilio-Signature: {signature}"])
    call.send('{"event": "connected", "protocol": "Call", "version": "1.0.0"}')
    gateway = stack._processes[0]
    try:
        started = time.monotonic()
        stack.stop()
        took = time.monotonic() - started
    finally:
        call.close()
    assert gateway.poll() is not None
    assert took < STOP_BUDGET_SECONDS, (tmp_path / "gateway.log").read_text()[-2000:]
