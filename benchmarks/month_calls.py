"""Real calls inside the simulated month (benchmarks.simulated_month --real-calls N): a few of the calls a person
answers are placed through the production dialer (campaigns.twilio_dialer.TwilioDialer) against the fake Twilio at
the HTTP boundary (tests/fakes/twilio_carrier.py), which answers by opening the media stream and speaking fixture
audio (tests/e2e/phone.py's FakeCarrier), into a real stack started by the README's launcher (bot.launcher: the
gateway with its ASR and TTS, Rasa with the trained model, the action server) on the month's own SQLite ledger and
Redis. Nothing of such a call is drawn: the gateway's status callbacks, its answered-contact reservation against
the caps, the dialogue's identity check and the promise it records land in the ledger the month audits.

The clock. The month's clock is simulated; a real call takes real seconds. The month places calls in rounds (one
call's length of simulated time, campaigns' call slots as the lines), and a round's calls all happen at the
round's simulated moment. So the simulated clock stops at that moment until the round's real calls have ended
(the month waits for their final status callbacks, as it waits for the simulated ones), and the gateway's clock
(COLLECTIONS_GATEWAY_FIXED_NOW, which also stamps every message the action server reads the time from) is that same
moment: before the first real call of a round at another moment, the launcher restarts the gateway alone with the
new time (Rasa keeps its model loaded). A real call therefore runs at its simulated time, frozen for its length,
and everything it records (the answered reservation under that local day, the outcome, the conversation, the
promise and its date) agrees with the month's own records of the same round.

Which calls: the month's carrier draws who answers as before; the real ones are the first calls a person answers
on or after each of N moments spread evenly over the month, to borrowers speaking Chinese whose ID digits a keypad
can send (the borrower confirms their identity by keypad, as the fixture audio holds one ID only). What the
borrower does on the line is a script, not a draw: says it is them, keys the ID's last four, promises 2,000 yuan
this Friday (d06.wav), confirms the read-back with 1. Whether the bot verified them and recorded the promise is
read back from the ledger; a kept promise is then paid (drawn at the month's rate), so it is judged like any other.
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from bot.launcher import ROOT, Stack, StackConfig
from campaigns.call_slots import CallSlots
from campaigns.dial_tickets import DialTickets
from campaigns.dialer import CallPlaced, CallRequest
from campaigns.twilio_dialer import TwilioDialer
from configuration.settings import DialerSettings
from ledger.repository import Ledger
from tests.e2e.chat import ARRIVAL_SECRETS_ENV, CARRIER_AUTH_TOKEN, LINK_KEY
from tests.e2e.phone import FakeCarrier
from tests.fakes.twilio_carrier import Answer, FakeTwilio
from tests.stack import _free_port

ACCOUNT_SID = "AC" + "4d" * 16
OUR_NUMBER = "+864000000000"
CALL_DEADLINE_SECONDS = 600  # a call not over by then is reported as failed, and the month goes on
# The borrower's side: (fixture to say, or digits to key, or None for the ID's last four) and what the bot answers.
SCRIPT = (("say", "d02.wav"),   # 对，我就是张伟本人。 -> the bot asks for the ID's last four
          ("key", None),        # the ID's last four on the keypad -> 核实通过, and why we called
          ("say", "d06.wav"),   # 我这周五先还两千块钱。 -> the bot reads the amount and the day back
          ("key", "1"))         # 1: yes -> the promise is recorded
# The stack as the e2e tests run it, where it matters to a scripted call: every number heard is read back (what
# the call hears does not hang on the recogniser's confidence), and no handoff trigger on balance or legal stage.
STACK_SETTINGS = {
    "COLLECTIONS_VOICE_CONFIRM_VALUES_BELOW_CONFIDENCE": "1",
    "COLLECTIONS_HANDOFF_POLICY_FILE": str(ROOT / "tests" / "e2e" / "handoff_policy.yml"),
}


@dataclass
class RealCall:
    attempt_id: str
    borrower_id: str
    account_id: str
    at: datetime                 # the simulated moment it ran at
    call_sid: str
    statuses: list[str] = field(default_factory=list)   # the carrier's status callbacks, in order
    outcomes: list[str] = field(default_factory=list)   # the ledger's contact attempts under the attempt id
    verified: bool = False
    promises: list[tuple[int, object]] = field(default_factory=list)  # (cents, date) the dialogue recorded
    latencies: list[float] = field(default_factory=list)  # end of the borrower's speech -> the bot's first audio
    script_error: str = ""       # where the scripted borrower gave up waiting, if they did


def default_model() -> Path:
    """The trained model (scripts/train.sh trains one only when none matches the inputs), or COLLECTIONS_TEST_MODEL."""
    given = os.environ.get("COLLECTIONS_TEST_MODEL")
    return ROOT / (given or subprocess.check_output(["bash", "scripts/train.sh"], cwd=ROOT, text=True).strip())


async def _key(carrier: FakeCarrier, digits: str) -> None:
    for digit in digits:
        await carrier.send_json({"event": "dtmf", "streamSid": carrier.stream_sid, "sequenceNumber": "9",
                                 "dtmf": {"track": "inbound_track", "digit": digit}})


class RealCalls:
    """The month's carrier hands it the calls it chose (`wants`); `place` dials them, `finish_round` waits for them
    and reads their outcomes from the ledger. A context manager: the fake Twilio and the stack run inside it."""

    def __init__(self, workdir: Path, ledger_url: str, redis_url: str, audit_key: bytes, clock, ledger: Ledger,
                 slots: CallSlots, calls: int, start: datetime, days: int, model: Path) -> None:
        self._clock, self._ledger, self._slots, self._calls = clock, ledger, slots, calls
        self._moments = [start + timedelta(days=days * n / calls) for n in range(calls)]
        self._gateway_now = start
        self._fake = FakeTwilio(ACCOUNT_SID, CARRIER_AUTH_TOKEN, redis_url)
        self._stack = Stack(StackConfig(
            model=model, rasa_port=_free_port(), action_port=_free_port(), gateway_port=_free_port(),
            redis_url=redis_url, ledger_url=ledger_url, fixed_now=start.isoformat(), log_dir=workdir / "logs",
            extra_env={**ARRIVAL_SECRETS_ENV, **STACK_SETTINGS, "COLLECTIONS_AUDIT_KEY": audit_key.decode("utf-8"),
                       "COLLECTIONS_AUDIT_ANCHOR_FILE": str(workdir / "audit.anchor"),
                       "COLLECTIONS_RECORDINGS_DIRECTORY": str(workdir / "recordings")}))
        self._client: httpx.AsyncClient | None = None
        self._dialer: TwilioDialer | None = None
        self._in_round: list[RealCall] = []
        self.done: list[RealCall] = []
        self.seconds = 0.0  # wall time spent on real calls and gateway restarts (not the worker's)
        self.start_seconds = 0.0

    async def __aenter__(self) -> "RealCalls":
        began = time.perf_counter()
        self._fake.__enter__()
        self._stack.start()  # blocking, on this thread, which outlives the services (Stack._restart's caveat)
        self.start_seconds = time.perf_counter() - began
        self._client = httpx.AsyncClient()
        settings = DialerSettings(account_sid=ACCOUNT_SID, from_number=OUR_NUMBER, api_base=self._fake.base_url)
        self._dialer = TwilioDialer(settings, CARRIER_AUTH_TOKEN, self._stack.gateway_url,
                                    DialTickets(LINK_KEY.encode("utf-8"), settings.max_call_seconds), self._slots,
                                    self._client)
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._client is not None:
            await self._client.aclose()
        self._stack.stop()
        self._fake.__exit__()

    def wants(self, request: CallRequest) -> bool:
        """A call a person answers: real, if one is due by now and the borrower can verify on the keypad."""
        placed = len(self.done) + len(self._in_round)
        if placed >= self._calls or self._clock() < self._moments[placed]:
            return False
        borrower = self._ledger.get_borrower(request.borrower_id)
        return borrower.language == "zh" and borrower.id_last4.isdigit()

    async def place(self, request: CallRequest) -> CallPlaced:
        began = time.perf_counter()
        now = self._clock()
        if now != self._gateway_now:  # the gateway's clock is set at its start: start it again at this moment
            self._stack.config.fixed_now = now.isoformat()
            self._stack.restart_gateway()
            self._gateway_now = now
        borrower = self._ledger.get_borrower(request.borrower_id)
        call = RealCall(request.attempt_id, request.borrower_id,
                        self._ledger.get_primary_account(request.borrower_id).account_id, now, call_sid="")
        self._fake.behaviours[request.to_number] = Answer(self._borrower(call, borrower.id_last4), request.borrower_id)
        placed = await self._dialer.place_call(request)
        call.call_sid = placed.provider_call_id
        self._in_round.append(call)
        self.seconds += time.perf_counter() - began
        return placed

    def _borrower(self, call: RealCall, id_last4: str):
        async def on_the_line(carrier: FakeCarrier) -> None:
            try:
                await carrier.bot_reply()  # the neutral opening
                for action, what in SCRIPT:
                    if action == "say":
                        await carrier.say_fixture(what)
                    else:
                        await _key(carrier, what or id_last4)
                    await carrier.bot_reply()
            except (TimeoutError, AssertionError) as error:  # the borrower hangs up; the month goes on
                call.script_error = f"{type(error).__name__}: {error}"
            call.latencies = list(carrier.latencies)
        return on_the_line

    async def finish_round(self) -> list[RealCall]:
        """Waits for this round's real calls to end (their final status callback sent and answered) and reads each
        one's outcome from the ledger."""
        began = time.perf_counter()
        finished, self._in_round = self._in_round, []
        for call in finished:
            try:
                placed = await asyncio.to_thread(self._fake.finished, call.call_sid, CALL_DEADLINE_SECONDS)
                call.statuses = list(placed.statuses)
            except (TimeoutError, AssertionError) as error:
                call.script_error = call.script_error or f"{type(error).__name__}: {error}"
            await asyncio.to_thread(self._read_back, call)
            self.done.append(call)
        self.seconds += time.perf_counter() - began
        return finished

    def _read_back(self, call: RealCall) -> None:
        attempts = [a for a in self._ledger.contact_attempts_for(call.borrower_id)
                    if a.conversation_id == call.attempt_id]
        call.outcomes = [a.outcome for a in attempts]
        call.verified = "right_party_verified" in call.outcomes
        call.promises = [(p.amount_cents, p.promised_date) for p in self._ledger.promises_for(call.account_id)
                         if p.conversation_id == call.attempt_id]


def report(calls: list[RealCall], start_seconds: float, seconds: float) -> str:
    latencies = sorted(latency for call in calls for latency in call.latencies)
    median = f"{latencies[len(latencies) // 2] * 1000:.0f} ms" if latencies else "-"
    worst = f"{latencies[-1] * 1000:.0f} ms" if latencies else "-"
    lines = [f"real calls {len(calls)} (fake Twilio at the HTTP boundary, fixture audio, the launcher's stack: "
             f"started in {start_seconds:.0f} s; calls and gateway restarts {seconds:.0f} s): "
             f"verified {sum(call.verified for call in calls)}, promises recorded "
             f"{sum(len(call.promises) for call in calls)}; end of speech -> first bot audio median {median}, "
             f"worst {worst} over {len(latencies)} spoken turns"]
    for call in calls:
        lines.append(f"  {call.at:%Y-%m-%d %H:%M} UTC {call.borrower_id}: carrier {'/'.join(call.statuses) or '-'}; "
                     f"ledger {', '.join(call.outcomes) or '-'}; promises "
                     f"{', '.join(f'{cents / 100:,.2f} by {day}' for cents, day in call.promises) or '-'}"
                     + (f"; script stopped: {call.script_error}" if call.script_error else ""))
    return "\n".join(lines)
