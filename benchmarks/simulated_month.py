"""A simulated month of outbound collections: the real worker against a clock we control.

    .venv/bin/python -m benchmarks.simulated_month [--borrowers 1000] [--days 30] [--tick-minutes 60]

Real: the SQLite ledger and its portfolio, a private redis-server, the strategy, every tick (settling promises,
placing borrowers, planning), the contact job (claim, contact policy with its Redis caps, dialer or messenger),
the gateway's outbound-call logic (bot.channels.outbound_call: reserving the answered contact when the call is
streamed, the outcome from the carrier's final status, the call slots that pace the dialer), the demo messenger,
payments and follow-up. Simulated (drawn from a seeded random generator): the carrier (who answers: a person, a
machine, busy, no answer, a failed call), what a borrower who answers does in the conversation (the dialogue
itself is not run here: the e2e tests speak real audio through it), when a person takes a conversation over and
what they write (checked by the real compliance filter, audited), and when borrowers pay.

Then the month is audited from the ledger alone: no contact outside a borrower's local window, no cap exceeded,
nobody contacted after a stop, every refusal recorded with its reason and a policy decision beside it, and every
promise judged as the payments say. The benchmark prints the audit and the worker's speed.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

import redis as sync_redis
from sqlalchemy import func, select, update

from bot.audit import AuditTrail
from bot.channels.outbound_call import OutboundCalls
from bot.channels.phone_arrival import CallTokens, CarrierSignatures
from bot.handoff.policy import load_handoff_policy
from bot.redis_connection import connect
from campaigns.call_slots import CallSlots
from campaigns.contact import ContactServices, Contactor, Deferred
from campaigns.dial_tickets import DialTicket
from campaigns.dialer import CallPlaced, CallRequest, DialerBusy
from campaigns.messenger import make_invitation_links, make_messenger
from campaigns.segmenter import Segmenter
from campaigns.strategy import load_strategy
from campaigns.tick import CampaignTick
from compliance_filters import check
from compliance_filters.contact_policy import ContactPolicy, load_config as load_contact_policy
from configuration.settings import Settings
from ledger.campaign_records import CONTACTED_STATUSES, CampaignRecords
from ledger.db import create_schema, make_engine, make_session_factory
from ledger.errors import PolicyViolation
from ledger.follow_up import FollowUp
from ledger.models import (
    CampaignContact, ContactAttempt, LoanAccount, Payment, PromiseToPay, SegmentChange,
)
from ledger.payments import Payments
from ledger.policy import promise_window
from ledger.portfolio import Portfolio
from ledger.repository import Ledger
from ledger.seed import seed_demo_portfolio
from voice.call import CallParty

START = datetime(2026, 12, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Rates:
    """How a month of borrowers behaves; rough shares from published contact-centre figures, not a lender's data."""
    person: float = 0.35
    machine: float = 0.15
    busy: float = 0.10
    failed: float = 0.03  # the rest ring out unanswered
    verified: float = 0.80  # of the people who answer, those who pass the identity check
    promise: float = 0.35
    plan: float = 0.10
    hardship: float = 0.05
    dispute: float = 0.02
    stop: float = 0.02
    distress: float = 0.005
    opens_message: float = 0.08  # a reminder's link opened, leading to a chat
    keeps_promise: float = 0.60
    pays_instalment: float = 0.70
    pays_unprompted_per_day: float = 0.003
    asks_for_person: float = 0.04  # of verified people: asks for a person (distress and disputes always go to one)
    agent_slip: float = 0.25  # of the conversations a person takes: a first draft the compliance check stops
    pre_due_share: float = 0.20  # accounts moved to fall due during the month (pre-due reminders)


class SimulatedClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@dataclass
class PendingCall:
    request: CallRequest
    sid: str
    form: dict[str, str]
    ticket: DialTicket


@dataclass
class Tally:
    conversations: int = 0
    promises: int = 0
    plans: int = 0
    stops: int = 0
    disputes: int = 0
    hardship: int = 0
    distress: int = 0
    handoffs: int = 0
    agent_blocks: int = 0
    chats_from_messages: int = 0
    payments: int = 0
    paid_cents: int = 0
    calls_placed: int = 0
    busy_deferrals: int = 0
    call_rounds: int = 0  # rounds (one call's length) in which at least one call was placed
    stop_times: dict[str, datetime] = field(default_factory=dict)  # borrower -> first stop (cease, distress, dispute)


# What the simulated agents write once they hold a conversation, and first drafts the real compliance check stops
# (the console shows the agent the rules and nothing is sent; the audit keeps the draft as blocked).
AGENT_LINES = ("您好，我是人工专员，接下来由我为您服务。", "感谢您的耐心，我们一起看看怎么安排还款。")
AGENT_SLIPS = ("你再不还钱，我们就去你单位找你领导", "今天不还就让你全家都知道你欠钱不还")


class SimulatedBorrowers:
    """What a borrower does when reached: drawn, then written to the ledger as the conversation's actions would.
    Distress, disputes and some requests go to a person, who answers after a wait (the handoff desk's records)."""

    def __init__(self, ledger: Ledger, segmenter: Segmenter, rates: Rates, rng: random.Random, clock: SimulatedClock,
                 tally: Tally, audit: AuditTrail, desk_rng: random.Random) -> None:
        self._ledger, self._segmenter, self._rates, self._rng, self._clock, self.tally = (
            ledger, segmenter, rates, rng, clock, tally)
        # A generator of its own for the handoffs, so the rest of the month draws what it drew before them.
        self._audit, self._desk_rng = audit, desk_rng
        self._priorities = load_handoff_policy().priorities
        self.scheduled_payments: list[tuple[datetime, str, int]] = []  # when, account, cents

    def conversation(self, borrower_id: str, conversation_id: str, channel: str) -> None:
        now, rates, rng = self._clock(), self._rates, self._rng
        self._ledger.start_conversation(conversation_id, borrower_id, channel, now)
        verified = rng.random() < rates.verified
        self._ledger.finish_conversation(conversation_id, "simulated", "", verified, now, channel)
        self.tally.conversations += 1
        account = self._ledger.get_primary_account(borrower_id)
        if not verified or account is None:
            return
        borrower = self._ledger.get_borrower(borrower_id)
        today = now.astimezone(ZoneInfo(borrower.timezone)).date()
        draw, chosen = rng.random(), None
        for outcome, share in (("promise", rates.promise), ("plan", rates.plan), ("hardship", rates.hardship),
                               ("dispute", rates.dispute), ("stop", rates.stop), ("distress", rates.distress)):
            if draw < share:
                chosen = outcome
                getattr(self, f"_{outcome}")(borrower_id, account, conversation_id, today, borrower.timezone)
                break
            draw -= share
        if chosen in ("distress", "dispute"):
            self._person_takes_over(conversation_id, borrower_id, channel, chosen)
        elif self._desk_rng.random() < rates.asks_for_person:
            self._person_takes_over(conversation_id, borrower_id, channel, "requested")

    def _person_takes_over(self, conversation_id: str, borrower_id: str, channel: str, reason: str) -> None:
        asked = self._clock()
        self._ledger.record_handoff(conversation_id, borrower_id, reason, self._priorities[reason], at=asked)
        self._ledger.set_handoff_status(conversation_id, "taken", ("waiting",))
        first_words = asked + timedelta(seconds=self._desk_rng.randint(15, 600))
        lines = [self._desk_rng.choice(AGENT_LINES)]
        if self._desk_rng.random() < self._rates.agent_slip:
            lines.insert(0, self._desk_rng.choice(AGENT_SLIPS))
        for index, text in enumerate(lines):  # as bot.egress.deliver_agent_text records an agent's message
            verdict = check(text, {"identity_verified": True, "channel": channel})
            self._audit.append(conversation_id, borrower_id, channel, "agent", text, verdict.allowed, verdict.rules,
                               at=first_words + timedelta(seconds=30 * index))
            self.tally.agent_blocks += not verdict.allowed
        self._ledger.set_handoff_status(conversation_id, "served", ("taken",))
        self.tally.handoffs += 1

    def _promise(self, borrower_id, account, conversation_id, today, zone) -> None:
        earliest, latest = promise_window(account.risk_tier, today, self._ledger.policy)
        day = earliest + timedelta(days=self._rng.randint(0, min(5, (latest - earliest).days)))
        amount = account.balance_cents if self._rng.random() < 0.5 else max(100, account.balance_cents // 3)
        try:
            self._ledger.record_promise(account.account_id, conversation_id, amount, day, today, at=self._clock())
        except PolicyViolation:
            return
        self.tally.promises += 1
        if self._rng.random() < self._rates.keeps_promise:
            self._pay_on(day, zone, account.account_id, amount)

    def _plan(self, borrower_id, account, conversation_id, today, zone) -> None:
        try:
            plan = self._ledger.propose_plan(account.account_id, conversation_id, 3, today + timedelta(days=3))
            plan = self._ledger.accept_plan(plan.plan_id)
        except PolicyViolation:
            return
        self.tally.plans += 1
        for due, amount in plan.items:
            if self._rng.random() < self._rates.pays_instalment:
                self._pay_on(due, zone, account.account_id, amount)

    def _hardship(self, borrower_id, account, conversation_id, today, zone) -> None:
        self._ledger.record_claim(borrower_id, account.account_id, conversation_id, "hardship", "simulated")
        self._segmenter.place_now([borrower_id], "hardship claim", self._clock())
        self.tally.hardship += 1

    def _dispute(self, borrower_id, account, conversation_id, today, zone) -> None:
        self._ledger.record_claim(borrower_id, account.account_id, conversation_id, "dispute", "simulated")
        self._segmenter.place_now([borrower_id], "dispute", self._clock())
        self.tally.disputes += 1
        self.tally.stop_times.setdefault(borrower_id, self._clock())

    def _stop(self, borrower_id, account, conversation_id, today, zone) -> None:
        self._ledger.set_do_not_contact(borrower_id, "asked to stop (simulated)", "borrower")
        self.tally.stops += 1
        self.tally.stop_times.setdefault(borrower_id, self._clock())

    def _distress(self, borrower_id, account, conversation_id, today, zone) -> None:
        self._ledger.flag_borrower(borrower_id, "distress", "simulated")
        self.tally.distress += 1
        self.tally.stop_times.setdefault(borrower_id, self._clock())

    def _pay_on(self, day: date, zone: str, account_id: str, cents: int) -> None:
        hour = self._rng.randint(9, 20)
        when = datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(zone)).astimezone(UTC)
        self.scheduled_payments.append((max(when, self._clock()), account_id, cents))


class SimulatedCarrier:
    """The Dialer the worker calls. A call's answer is drawn at once; its outcome reaches the gateway's real
    outbound-call logic when the round of calls ends (the carrier's status callback), freeing its slot."""

    def __init__(self, calls: OutboundCalls, slots: CallSlots, max_calls: int, borrowers: SimulatedBorrowers,
                 rates: Rates, rng: random.Random, tally: Tally) -> None:
        self._calls, self._slots, self._max_calls, self._borrowers, self._rates, self._rng, self._tally = (
            calls, slots, max_calls, borrowers, rates, rng, tally)
        self.pending: list[PendingCall] = []

    async def free_lines(self) -> int:
        return max(0, self._max_calls - await self._slots.held())

    async def place_call(self, request: CallRequest) -> CallPlaced:
        if not await self._slots.acquire(request.attempt_id):
            raise DialerBusy("all call slots are taken")
        sid = "CA" + secrets.token_hex(16)
        self._tally.calls_placed += 1
        ticket = DialTicket(request.borrower_id, request.attempt_id, request.script)
        form = {"CallSid": sid, "To": request.to_number, "CallDuration": "0", "AnsweredBy": ""}
        draw, rates = self._rng.random(), self._rates
        if draw < rates.person:
            if await self._calls.admit(CallParty(request.borrower_id, request.attempt_id, request.script)):
                await asyncio.to_thread(self._borrowers.conversation, request.borrower_id, request.attempt_id, "phone")
            form.update(CallStatus="completed", AnsweredBy="human", CallDuration=str(self._rng.randint(40, 400)))
        elif draw < rates.person + rates.machine:
            form.update(CallStatus="completed", AnsweredBy="machine_end_beep", CallDuration="25")
        elif draw < rates.person + rates.machine + rates.busy:
            form.update(CallStatus="busy")
        elif draw < rates.person + rates.machine + rates.busy + rates.failed:
            form.update(CallStatus="failed")
        else:
            form.update(CallStatus="no-answer")
        self.pending.append(PendingCall(request, sid, form, ticket))
        return CallPlaced(sid)

    async def hang_up_all(self) -> None:
        calls, self.pending = self.pending, []
        for call in calls:
            await self._calls.report(call.form, call.ticket)


@dataclass
class MonthResult:
    config: dict
    tally: Tally
    ticks: int
    tick_seconds: float
    contact_seconds: float
    decisions: int
    wall_seconds: float
    sessions: object
    end: datetime


def _spread_due_dates(sessions, rng: random.Random, rates: Rates, days: int) -> None:
    """Some accounts fall due during the month, so pre-due reminders and the first days overdue happen too."""
    with sessions.begin() as session:
        accounts = list(session.scalars(select(LoanAccount.account_id).order_by(LoanAccount.account_id)))
        for account_id in accounts:
            if rng.random() < rates.pre_due_share:
                due = START.date() + timedelta(days=rng.randint(1, max(2, days - 5)))
                session.execute(update(LoanAccount).where(LoanAccount.account_id == account_id).values(due_date=due))


async def run_month(workdir: Path, redis_url: str, borrowers: int = 1000, us_borrowers: int = 80, days: int = 30,
                    tick_minutes: int = 60, seed: int = 11, rates: Rates = Rates(), max_calls: int = 4,
                    call_minutes: int = 3, progress: Callable[[str], None] | None = None) -> MonthResult:
    rng = random.Random(seed)
    ledger_url = f"sqlite:///{workdir / 'month.sqlite3'}"
    settings = Settings(ledger={"database_url": ledger_url}, campaigns={"redis_url": redis_url})
    clock = SimulatedClock(START)
    engine = make_engine(ledger_url)
    create_schema(engine)
    sessions = make_session_factory(engine)
    seed_demo_portfolio(sessions, count=borrowers, us_count=us_borrowers, as_of=START.date())
    _spread_due_dates(sessions, rng, rates, days)
    ledger = Ledger(sessions)
    contact_config = load_contact_policy()
    strategy = load_strategy(contact_policy=contact_config)
    records = CampaignRecords(sessions)
    segmenter = Segmenter(strategy, Portfolio(sessions), records)
    tick = CampaignTick(segmenter, records, FollowUp(sessions, ledger.policy))
    tally = Tally()
    audit_key = secrets.token_bytes(32)
    audit = AuditTrail(sessions, audit_key)
    people = SimulatedBorrowers(ledger, segmenter, rates, rng, clock, tally, audit, random.Random(seed + 1))
    sync_client = sync_redis.Redis.from_url(redis_url, decode_responses=True)
    async_client = connect(redis_url)
    policy = ContactPolicy(sync_client, ledger, contact_config)
    slots = CallSlots(async_client, max_calls, 3600, key="simulated-month:call-slots")
    calls = OutboundCalls(settings.dialer, CarrierSignatures(settings.voice), CallTokens(audit_key, 3600), ledger,
                          audit, policy, async_client, slots, clock, records)
    carrier = SimulatedCarrier(calls, slots, max_calls, people, rates, rng, tally)
    messenger = make_messenger(settings, ledger)
    contactor = Contactor(ContactServices(
        records=records, ledger=ledger, policy=policy, dialer=carrier, messenger=messenger,
        invitation_link=make_invitation_links(settings), redis=async_client, clock=clock))
    payments = Payments(sessions, ledger.policy, clock)

    ticks = decisions = 0
    tick_seconds = contact_seconds = 0.0
    started = time.perf_counter()
    end = START + timedelta(days=days)
    rounds_per_tick = max(1, tick_minutes // call_minutes)
    while clock.now < end:
        began = time.perf_counter()
        due = await asyncio.to_thread(tick.run, clock.now)
        tick_seconds += time.perf_counter() - began
        ticks += 1
        waiting = list(due.due)
        tick_start = clock.now
        for _ in range(rounds_per_tick):  # each round: the calls one set of lines carries, then they hang up
            if not waiting:
                break
            began = time.perf_counter()
            deferred = []
            for plan in waiting:
                decisions += 1
                try:
                    recorded = await contactor.contact(plan)
                except Deferred:
                    tally.busy_deferrals += 1
                    deferred.append(plan)
                    continue
                if recorded is not None and recorded.status == "sent" and rng.random() < rates.opens_message:
                    tally.chats_from_messages += 1
                    await asyncio.to_thread(people.conversation, plan.borrower_id, "chat-" + recorded.attempt_id, "webchat")
            if carrier.pending:
                tally.call_rounds += 1
            await carrier.hang_up_all()
            contact_seconds += time.perf_counter() - began
            waiting = deferred
            clock.now += timedelta(minutes=call_minutes)
        clock.now = tick_start + timedelta(minutes=tick_minutes)
        await asyncio.to_thread(_pay_due, payments, sessions, people, clock.now, rng, tally, ledger, rates, tick_minutes)
        if progress and ticks % 24 == 0:
            progress(f"{clock.now:%Y-%m-%d %H:%M} ticks {ticks} calls {tally.calls_placed} promises {tally.promises}")
    await messenger.aclose()
    await async_client.aclose()
    sync_client.close()
    return MonthResult(
        config={"borrowers": borrowers + us_borrowers, "days": days, "tick_minutes": tick_minutes, "seed": seed,
                "max_calls": max_calls, "call_minutes": call_minutes},
        tally=tally, ticks=ticks, tick_seconds=tick_seconds, contact_seconds=contact_seconds, decisions=decisions,
        wall_seconds=time.perf_counter() - started, sessions=sessions, end=end)


def _pay_due(payments: Payments, sessions, people: SimulatedBorrowers, now: datetime, rng: random.Random,
             tally: Tally, ledger: Ledger, rates: Rates, tick_minutes: int) -> None:
    due = [entry for entry in people.scheduled_payments if entry[0] <= now]
    people.scheduled_payments = [entry for entry in people.scheduled_payments if entry[0] > now]
    if now.hour == 12 and now.minute < tick_minutes:  # once a day: some pay without being asked
        with sessions() as session:
            open_accounts = list(session.execute(select(LoanAccount.account_id).where(
                LoanAccount.status == "collecting")).scalars())
        for account_id in open_accounts:
            if rng.random() < rates.pays_unprompted_per_day:
                account = ledger.get_account(account_id)
                due.append((now, account_id, account.balance_cents))
    for when, account_id, cents in due:
        account = ledger.get_account(account_id)
        if account is None or account.status != "collecting" or account.balance_cents <= 0:
            continue
        try:
            payments.record(f"SIM-{secrets.token_hex(6)}", account_id, min(cents, account.balance_cents),
                            account.currency, min(when, now), "api")
        except PolicyViolation:
            continue
        tally.payments += 1
        tally.paid_cents += min(cents, account.balance_cents)


# --- the audit: the month read back from the ledger alone ------------------------------------------------------

@dataclass
class MonthAudit:
    contacts: int = 0
    by_channel: Counter = field(default_factory=Counter)
    by_status: Counter = field(default_factory=Counter)
    refusals: Counter = field(default_factory=Counter)
    outside_window: list = field(default_factory=list)
    over_caps: list = field(default_factory=list)
    after_stop: list = field(default_factory=list)
    refusals_without_reason: int = 0
    refusals_without_decision: int = 0
    promises: Counter = field(default_factory=Counter)
    misjudged_promises: list = field(default_factory=list)
    segment_moves: int = 0

    @property
    def lawful(self) -> bool:
        return not (self.outside_window or self.over_caps or self.after_stop or self.refusals_without_reason
                    or self.refusals_without_decision or self.misjudged_promises)


def audit_month(result: MonthResult) -> MonthAudit:
    sessions, audit = result.sessions, MonthAudit()
    config = load_contact_policy()
    ledger = Ledger(sessions)
    with sessions() as session:
        contacts = list(session.scalars(select(CampaignContact)))
        attempts = list(session.scalars(select(ContactAttempt)))
        promises = list(session.scalars(select(PromiseToPay)))
        paid = list(session.scalars(select(Payment)))
        audit.segment_moves = session.scalar(select(func.count()).select_from(SegmentChange))
    zones = {}
    decisions = defaultdict(list)
    for attempt in attempts:
        decisions[attempt.conversation_id].append(attempt)
    for contact in contacts:
        audit.by_status[contact.status] += 1
        if contact.status == "refused" or contact.status == "error":
            audit.refusals[contact.reason] += 1
            if not contact.reason:
                audit.refusals_without_reason += 1
            if contact.status == "refused" and contact.reason not in ("no_phone_number", "no_message_recipient") and not any(
                    a.outcome == "refused_by_policy" for a in decisions[contact.attempt_id]):
                audit.refusals_without_decision += 1
        if contact.status not in CONTACTED_STATUSES:
            continue
        audit.contacts += 1
        audit.by_channel[contact.channel] += 1
        zone = zones.setdefault(contact.borrower_id, ledger.get_borrower(contact.borrower_id).timezone)
        profile = config.profiles[config.profile_for_timezone(zone)]
        local = contact.planned_at.astimezone(ZoneInfo(zone)).time()
        start, finish = profile.allowed_window
        if not start <= local < finish:
            audit.outside_window.append((contact.attempt_id, zone, local.isoformat()))
        # The simulation's own clock of each stop (the ledger stamps do-not-contact and flags with the wall clock).
        stop = result.tally.stop_times.get(contact.borrower_id)
        if stop is not None and contact.planned_at > stop:
            audit.after_stop.append((contact.attempt_id, contact.channel, contact.status))
    # Caps, from the reservations the contact policy recorded (answered / unanswered outcomes).
    answered_per_day, unanswered_per_day, us_attempts = Counter(), Counter(), defaultdict(list)
    for attempt in attempts:
        if attempt.outcome not in ("answered", "unanswered"):
            continue
        zone = zones.setdefault(attempt.borrower_id, ledger.get_borrower(attempt.borrower_id).timezone)
        name = config.profile_for_timezone(zone)
        day = attempt.created_at.astimezone(ZoneInfo(zone)).date()
        if name == "china":
            (answered_per_day if attempt.outcome == "answered" else unanswered_per_day)[(attempt.borrower_id, day)] += 1
        else:
            us_attempts[attempt.borrower_id].append(attempt.created_at)
    china = config.profiles["china"]
    audit.over_caps += [("answered", key, n) for key, n in answered_per_day.items() if n > china.daily_answered_per_debtor]
    audit.over_caps += [("unanswered", key, n) for key, n in unanswered_per_day.items()
                        if n > china.daily_unanswered_per_number]
    us = config.profiles["us"]
    for borrower_id, times in us_attempts.items():
        times.sort()
        for index, moment in enumerate(times):
            window = [t for t in times[:index + 1] if moment - t < timedelta(days=us.rolling_days)]
            if len(window) > us.rolling_attempts_per_debt:
                audit.over_caps.append(("us_rolling", borrower_id, len(window)))
    # Promises: judged as the payments say (FollowUp's rule: paid on the account from the promise until the end of
    # the grace day covers the amount; a promise still inside its grace is open).
    grace = ledger.policy.follow_up.grace_days
    for promise in promises:
        audit.promises[promise.status] += 1
        zone = zones.setdefault(_borrower_of(ledger, promise.account_id), None) or "Asia/Shanghai"
        deadline = datetime.combine(promise.promised_date + timedelta(days=grace + 1), datetime.min.time(), ZoneInfo(zone))
        if deadline > result.end or promise.status == "cancelled":
            continue
        covered = sum(p.amount_cents for p in paid if p.account_id == promise.account_id
                      and promise.created_at <= p.paid_at < deadline)
        expected = "kept" if covered >= promise.amount_cents else "broken"
        if promise.status != expected:
            audit.misjudged_promises.append((promise.id, promise.status, expected))
    return audit


def _borrower_of(ledger: Ledger, account_id: str) -> str:
    return ledger.get_account(account_id).borrower_id


def report(result: MonthResult, audit: MonthAudit) -> str:
    tally = result.tally
    lines = [
        f"simulated month: {result.config}",
        f"wall time {result.wall_seconds:.1f} s; {result.ticks} ticks, {result.tick_seconds / max(1, result.ticks) * 1000:.0f} ms "
        f"per tick (placing {result.config['borrowers']} borrowers and planning)",
        f"contact decisions {result.decisions} in {result.contact_seconds:.1f} s: "
        f"{result.decisions / max(result.contact_seconds, 1e-9):.0f} decisions/s",
        f"calls placed {tally.calls_placed}: {tally.calls_placed / max(1, tally.call_rounds * result.config['call_minutes']):.2f}"
        f" per simulated minute while calls were due, under {result.config['max_calls']} lines of "
        f"{result.config['call_minutes']}-minute calls (at most {result.config['max_calls'] / result.config['call_minutes']:.2f});"
        f" {tally.busy_deferrals} tries deferred for a free line",
        f"contacts made {audit.contacts}: by channel {dict(audit.by_channel)}",
        f"contact records by status {dict(audit.by_status)}",
        f"refused or failed closed, by reason {dict(audit.refusals.most_common())}",
        f"conversations {tally.conversations} (from messages {tally.chats_from_messages}); promises {tally.promises}, "
        f"plans {tally.plans}, hardship {tally.hardship}, disputes {tally.disputes}, stop requests {tally.stops}, "
        f"distress {tally.distress}; segment moves recorded {audit.segment_moves}; handoffs to a person "
        f"{tally.handoffs}, agents' drafts blocked {tally.agent_blocks}",
        f"payments {tally.payments}, {tally.paid_cents / 100:,.2f} paid; promises by status {dict(audit.promises)}",
        f"AUDIT outside window {len(audit.outside_window)}, over caps {len(audit.over_caps)}, after a stop "
        f"{len(audit.after_stop)}, refusals without reason {audit.refusals_without_reason}, refusals without a policy "
        f"decision {audit.refusals_without_decision}, promises misjudged {len(audit.misjudged_promises)}"
        f" -> {'LAWFUL' if audit.lawful else 'VIOLATIONS'}",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--borrowers", type=int, default=1000, help="Chinese borrowers (80 US ones are added)")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--tick-minutes", type=int, default=60)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    from tests.stack import PrivateRedis  # a redis-server of its own, never a developer's

    with tempfile.TemporaryDirectory() as workdir:
        redis_server = PrivateRedis(Path(workdir), durable=False)
        redis_server.start()
        try:
            result = asyncio.run(run_month(Path(workdir), redis_server.url, args.borrowers, 80, args.days,
                                           args.tick_minutes, args.seed, progress=print))
            print(report(result, audit_month(result)))
        finally:
            redis_server.stop()


if __name__ == "__main__":
    main()
