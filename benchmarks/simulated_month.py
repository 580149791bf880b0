"""A simulated month of outbound collections: the real worker against a clock we control.

    .venv/bin/python -m benchmarks.simulated_month [--borrowers 1000] [--days 30] [--tick-minutes 60] [--real-calls 3]

Real: the SQLite ledger and its portfolio, a private redis-server, the strategy, every tick (settling promises,
placing borrowers, planning), the contact job (claim, contact policy with its Redis caps, dialer or messenger),
the gateway's outbound-call logic (bot.channels.outbound_call: reserving the answered contact when the call is
streamed, the outcome from the carrier's final status, the call slots that pace the dialer), the demo messenger,
payments and follow-up, identity checks and their lockout, complaints, and the quality review's daily fill (the
worker's job, ledger.quality_review) with reviews saved through its book. Simulated (drawn from seeded random
generators): the carrier (who answers: a person, a machine, busy, no answer, a failed call), what a borrower who
answers does in the conversation (the dialogue itself is not run for these calls, only for the real calls below;
only the bot's opening line is audited, as the egress audits every line), who keeps guessing at the identity
check, who complains, which agent takes a conversation handed to a person and what they write (checked by the real
compliance filter, audited), how reviewers score, and when borrowers pay.

Real calls (--real-calls N, 3 by default; 0 draws every call): N of the calls a person answers, spread over the
month, are placed instead through the production Twilio dialer against the fake Twilio at the HTTP boundary, and
answered with fixture audio on the media stream of a real stack (gateway with ASR and TTS, Rasa and its trained
model, action server) the README's launcher starts on this month's ledger and Redis; their status callbacks,
answered-contact reservations, identity checks and promises are the ledger's like everything else here, and the
audit below covers them. The simulated clock stops at the round's moment while they run, and the gateway runs at
that same moment: benchmarks/month_calls.py explains how, and the benchmark prints those calls apart.

Then the month is audited from the ledger alone: no contact outside a borrower's local window; no cap exceeded,
counted from the calls the carrier placed (not from the contact policy's own reservations); nobody contacted after
a stop; every refusal recorded with its reason and a policy decision beside it; every promise judged as the
payments say; every payment's split over the balances and the instalments replayed from the opening balances.
The benchmark prints the audit and the worker's speed.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import tempfile
import time
from collections import Counter, defaultdict
from contextlib import AsyncExitStack
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
from benchmarks.month_calls import RealCall, RealCalls, default_model, report as real_calls_report
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
    CHECKLIST_ITEMS, Borrower, BorrowerPhone, CampaignContact, ContactAttempt, ConversationRecord, FollowUpEvent,
    InstalmentOutcome, InstalmentPlan, InstalmentPlanItem, LoanAccount, Payment, PaymentAllocation,
    PaymentInstalmentAllocation, PromiseToPay, SegmentChange,
)
from ledger.payments import Payments
from ledger.policy import promise_window
from ledger.portfolio import Portfolio
from ledger.quality_review import REVIEW_ZONE, QualityReviewBook, ReviewItemView, load_sampling
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
    complains: float = 0.03  # of conversations: the party complains about being contacted (once per conversation)
    locks_out: float = 0.10  # of the parties who do not verify: keep guessing until the identity check locks
    reviewed: float = 0.70  # of the conversations the review queue chooses: scored by a reviewer the same day
    review_fails: float = 0.06  # of those scored: at least one checklist item failed
    review_fails_after_block: float = 0.50  # ... when the compliance filter stopped something said in it


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
    complaints: int = 0
    lockouts: int = 0
    review_items: int = 0
    reviews: int = 0
    reviews_failed: int = 0
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
# Who takes the conversations handed to a person (the desk records it: handoff_requests.taken_by), and who reviews.
AGENTS = ("agent.wang", "agent.zhang", "agent.chen")
REVIEWERS = ("qa.sun", "qa.zhou")
# The bot's first words in every conversation (domain.yml's outbound opening), audited as the egress audits each line:
# the quality review finds conversations on the audit trail.
BOT_OPENING = "您好，我是智能客服助理（AI自动应答，非真人），本次沟通将全程录音。有一件私人事务需要与本人确认。"
VENTING = ("你们烦不烦啊，天天打", "别再打了，我在上班", "一天打好几次，我要投诉你们")
WRONG_BIRTHDAY = date(1900, 1, 1)  # a guess no borrower's record matches


class SimulatedBorrowers:
    """What a borrower does when reached: drawn, then written to the ledger as the conversation's actions would.
    Distress, disputes and some requests go to a person, who answers after a wait (the handoff desk's records)."""

    def __init__(self, ledger: Ledger, segmenter: Segmenter, rates: Rates, rng: random.Random, clock: SimulatedClock,
                 tally: Tally, audit: AuditTrail, desk_rng: random.Random, supervision_rng: random.Random) -> None:
        self._ledger, self._segmenter, self._rates, self._rng, self._clock, self.tally = (
            ledger, segmenter, rates, rng, clock, tally)
        # Generators of their own for the handoffs and for what supervision reads (complaints, lockouts, who took a
        # conversation), so the rest of the month draws what it drew before them.
        self._audit, self._desk_rng, self._supervision_rng = audit, desk_rng, supervision_rng
        self._opening = check(BOT_OPENING, {"identity_verified": False, "channel": "phone"})
        self._priorities = load_handoff_policy().priorities
        self.scheduled_payments: list[tuple[datetime, str, int]] = []  # when, account, cents

    def conversation(self, borrower_id: str, conversation_id: str, channel: str) -> None:
        now, rates, rng = self._clock(), self._rates, self._rng
        self._ledger.start_conversation(conversation_id, borrower_id, channel, now)
        self._audit.append(conversation_id, borrower_id, channel, "bot", BOT_OPENING, self._opening.allowed,
                           self._opening.rules, at=now)
        verified = rng.random() < rates.verified
        if not verified and self._supervision_rng.random() < rates.locks_out:
            self._guess_until_locked(borrower_id, conversation_id, channel)
        if self._supervision_rng.random() < rates.complains:  # as action_ask_stop_confirmation records it
            self.tally.complaints += self._ledger.record_complaint(
                conversation_id, borrower_id, channel, self._supervision_rng.choice(VENTING),
                at=now + timedelta(seconds=40))
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

    def after_real_call(self, call: RealCall) -> None:
        """A call that ran through the real stack (benchmarks.month_calls): the dialogue wrote its records; the month
        counts them, pays a kept promise as it pays the drawn ones, and notes a stop the dialogue recorded."""
        self.tally.conversations += "call_completed" in call.outcomes
        self.tally.promises += len(call.promises)
        borrower = self._ledger.get_borrower(call.borrower_id)
        for cents, day in call.promises:
            if self._rng.random() < self._rates.keeps_promise:
                self._pay_on(day, borrower.timezone, call.account_id, cents)
        if borrower.do_not_contact or any(flag.kind == "distress" and flag.cleared_at is None for flag in self._ledger.flags_for(call.borrower_id)):
            self.tally.stop_times.setdefault(call.borrower_id, call.at)

    def _guess_until_locked(self, borrower_id: str, conversation_id: str, channel: str) -> None:
        """Wrong answers until the check locks, and one more, refused unread (Ledger.check_identity records each
        answer as the identity form's action does)."""
        at = self._clock()
        for guess in range(self._ledger.policy.verification.max_failures + 1):
            self._ledger.check_identity(borrower_id, conversation_id, channel, date_of_birth=WRONG_BIRTHDAY,
                                        at=at + timedelta(seconds=20 * (guess + 1)))
        self.tally.lockouts += 1

    def _person_takes_over(self, conversation_id: str, borrower_id: str, channel: str, reason: str) -> None:
        asked = self._clock()
        self._ledger.record_handoff(conversation_id, borrower_id, reason, self._priorities[reason], at=asked)
        self._ledger.set_handoff_status(conversation_id, "taken", ("waiting",),
                                        taken_by=self._supervision_rng.choice(AGENTS))
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
    outbound-call logic when the round of calls ends (the carrier's status callback), freeing its slot. With `real`
    (benchmarks.month_calls), some calls a person answers are placed for real instead, and the round ends when
    they have."""

    def __init__(self, calls: OutboundCalls, slots: CallSlots, max_calls: int, borrowers: SimulatedBorrowers,
                 rates: Rates, rng: random.Random, tally: Tally, real: RealCalls | None = None) -> None:
        self._calls, self._slots, self._max_calls, self._borrowers, self._rates, self._rng, self._tally = (
            calls, slots, max_calls, borrowers, rates, rng, tally)
        self._real = real
        self.pending: list[PendingCall] = []
        self.real_in_round = 0

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
        if draw < rates.person and self._real is not None and self._real.wants(request):
            self.real_in_round += 1
            return await self._real.place(request)
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
        if self.real_in_round:
            self.real_in_round = 0
            for real_call in await self._real.finish_round():
                await asyncio.to_thread(self._borrowers.after_real_call, real_call)


class SimulatedReviewers:
    """The quality team: after the worker's daily fill (the job's own call, QualityReviewBook.fill_recent), score a
    share of the conversations it chose, failing an item now and then (more often where the filter stopped words)."""

    def __init__(self, book: QualityReviewBook, rates: Rates, rng: random.Random, tally: Tally) -> None:
        self._book, self._rates, self._rng, self.tally = book, rates, rng, tally

    def daily(self, now: datetime) -> None:
        self.tally.review_items += self._book.fill_recent(now)
        for item in self._book.items("pending", limit=100_000):
            if item.selected_at == now and self._rng.random() < self._rates.reviewed:
                self._score(item, now + timedelta(hours=self._rng.randint(1, 8)))

    def _score(self, item: ReviewItemView, at: datetime) -> None:
        rules = {reason.rule for reason in item.reasons}
        marks = {name: "pass" for name in CHECKLIST_ITEMS}
        marks["correct_figures"] = "na"  # the simulated conversation names no figure
        if not rules & {"distress", "dispute"}:
            marks["handoff_when_asked"] = "na"
        blocked = "compliance_block" in rules
        if self._rng.random() < (self._rates.review_fails_after_block if blocked else self._rates.review_fails):
            marks["no_pressure" if blocked else self._rng.choice(("identity_before_detail", "ai_disclosed",
                                                                  "no_pressure"))] = "fail"
            self.tally.reviews_failed += 1
        self._book.save_review(item.item_id, self._rng.choice(REVIEWERS), marks, "simulated review", at)
        self.tally.reviews += 1


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
    opening_balances: dict[str, dict[str, int]]  # account -> component -> cents, as the month began
    last_tick: datetime
    real_calls: list[RealCall] = field(default_factory=list)  # placed through the real stack (benchmarks.month_calls)
    real_start_seconds: float = 0.0  # starting that stack
    real_seconds: float = 0.0  # wall time of the real calls and the gateway restarts, not counted as the worker's


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
                    call_minutes: int = 3, progress: Callable[[str], None] | None = None, real_calls: int = 0,
                    model: Path | None = None) -> MonthResult:
    """`real_calls`: that many calls a person answers go through the fake Twilio and a real stack started here
    (benchmarks.month_calls; `model`: the trained Rasa model, scripts/train.sh's by default)."""
    async with AsyncExitStack() as resources:
        return await _run_month(resources, workdir, redis_url, borrowers, us_borrowers, days, tick_minutes, seed,
                                rates, max_calls, call_minutes, progress, real_calls, model)


async def _run_month(resources: AsyncExitStack, workdir: Path, redis_url: str, borrowers: int, us_borrowers: int,
                     days: int, tick_minutes: int, seed: int, rates: Rates, max_calls: int, call_minutes: int,
                     progress: Callable[[str], None] | None, real_calls: int, model: Path | None) -> MonthResult:
    rng = random.Random(seed)
    ledger_url = f"sqlite:///{workdir / 'month.sqlite3'}"
    settings = Settings(ledger={"database_url": ledger_url}, campaigns={"redis_url": redis_url})
    clock = SimulatedClock(START)
    engine = make_engine(ledger_url)
    create_schema(engine)
    sessions = make_session_factory(engine)
    seed_demo_portfolio(sessions, count=borrowers, us_count=us_borrowers, as_of=START.date())
    _spread_due_dates(sessions, rng, rates, days)
    opening_balances = _balances(sessions)
    ledger = Ledger(sessions)
    contact_config = load_contact_policy()
    strategy = load_strategy(contact_policy=contact_config)
    records = CampaignRecords(sessions)
    segmenter = Segmenter(strategy, Portfolio(sessions), records)
    tick = CampaignTick(segmenter, records, FollowUp(sessions, ledger.policy))
    tally = Tally()
    audit_key = secrets.token_hex(32).encode("utf-8")  # a text key, so the real stack's gateway can be given it
    audit = AuditTrail(sessions, audit_key)
    people = SimulatedBorrowers(ledger, segmenter, rates, rng, clock, tally, audit, random.Random(seed + 1),
                                random.Random(seed + 2))
    reviewers = SimulatedReviewers(QualityReviewBook(sessions, ledger, load_sampling()), rates, random.Random(seed + 3),
                                   tally)
    review_hour = settings.campaigns.review_fill_hour
    sync_client = sync_redis.Redis.from_url(redis_url, decode_responses=True)
    async_client = connect(redis_url)
    policy = ContactPolicy(sync_client, ledger, contact_config)
    slots = CallSlots(async_client, max_calls, 3600)  # the gateway's key: a real call's final status frees its slot
    calls = OutboundCalls(settings.dialer, CarrierSignatures(settings.voice), CallTokens(audit_key, 3600), ledger,
                          audit, policy, async_client, slots, clock, records)
    real = None
    if real_calls:
        real = await resources.enter_async_context(RealCalls(
            workdir, ledger_url, redis_url, audit_key, clock, ledger, slots, real_calls, START, days,
            model or default_model()))
    carrier = SimulatedCarrier(calls, slots, max_calls, people, rates, rng, tally, real)
    messenger = make_messenger(settings, ledger)
    contactor = Contactor(ContactServices(
        records=records, ledger=ledger, policy=policy, dialer=carrier, messenger=messenger,
        invitation_link=make_invitation_links(settings), redis=async_client, clock=clock,
        demo_providers=settings.demo))
    payments = Payments(sessions, ledger.policy, clock)

    ticks = decisions = 0
    tick_seconds = contact_seconds = 0.0
    started = time.perf_counter()
    end = START + timedelta(days=days)
    rounds_per_tick = max(1, tick_minutes // call_minutes)
    last_tick = START
    while clock.now < end:
        last_tick = clock.now
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
            if carrier.pending or carrier.real_in_round:
                tally.call_rounds += 1
            await carrier.hang_up_all()
            contact_seconds += time.perf_counter() - began
            waiting = deferred
            clock.now += timedelta(minutes=call_minutes)
        clock.now = tick_start + timedelta(minutes=tick_minutes)
        await asyncio.to_thread(_pay_due, payments, sessions, people, clock.now, rng, tally, ledger, rates, tick_minutes)
        office = tick_start.astimezone(REVIEW_ZONE)
        if office.hour == review_hour and office.minute < tick_minutes:  # the worker's daily job, on this clock
            await asyncio.to_thread(reviewers.daily, tick_start)
        if progress and ticks % 24 == 0:
            progress(f"{clock.now:%Y-%m-%d %H:%M} ticks {ticks} calls {tally.calls_placed} promises {tally.promises}")
    await messenger.aclose()
    await async_client.aclose()
    sync_client.close()
    return MonthResult(
        config={"borrowers": borrowers + us_borrowers, "days": days, "tick_minutes": tick_minutes, "seed": seed,
                "max_calls": max_calls, "call_minutes": call_minutes, "real_calls": real_calls},
        tally=tally, ticks=ticks, tick_seconds=tick_seconds,
        contact_seconds=contact_seconds - (real.seconds if real else 0.0), decisions=decisions,
        wall_seconds=time.perf_counter() - started, sessions=sessions, end=end, opening_balances=opening_balances,
        last_tick=last_tick, real_calls=real.done if real else [], real_start_seconds=real.start_seconds if real else 0.0,
        real_seconds=real.seconds if real else 0.0)


COMPONENTS = {"fees": "fees_cents", "interest": "interest_cents", "principal": "principal_cents"}


def _balances(sessions) -> dict[str, dict[str, int]]:
    with sessions() as session:
        return {account.account_id: {name: getattr(account, column) for name, column in COMPONENTS.items()}
                for account in session.scalars(select(LoanAccount))}


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
    calls_placed: int = 0  # calls the carrier took (a call id on the contact): what the caps are counted from
    payments: int = 0
    paid_cents: int = 0
    payment_mismatches: list = field(default_factory=list)  # a split or balance other than the replay's
    instalment_mismatches: list = field(default_factory=list)  # an instalment judged other than its allocations say

    @property
    def lawful(self) -> bool:
        return not (self.outside_window or self.over_caps or self.after_stop or self.refusals_without_reason
                    or self.refusals_without_decision or self.misjudged_promises or self.payment_mismatches
                    or self.instalment_mismatches)


def audit_month(result: MonthResult) -> MonthAudit:
    sessions, audit = result.sessions, MonthAudit()
    config = load_contact_policy()
    ledger = Ledger(sessions)
    with sessions() as session:
        contacts = list(session.scalars(select(CampaignContact)))
        attempts = list(session.scalars(select(ContactAttempt)))
        zones = dict(session.execute(select(Borrower.borrower_id, Borrower.timezone)).all())
        promises = list(session.scalars(select(PromiseToPay)))
        paid = list(session.scalars(select(Payment)))
        audit.segment_moves = session.scalar(select(func.count()).select_from(SegmentChange))
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
    _audit_caps(audit, contacts, zones, config, sessions)
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
    _audit_payments(audit, result, ledger.policy.payment_allocation, grace)
    return audit


# A call the carrier took has its call id on the contact (campaign_contacts.provider_id). Answered by a person: a
# conversation ("answered"), or a person the bot then declined because the answered cap or a stop had been reached
# since the dial ("refused" with the call id; counted as answered here, the stricter reading: someone was reached).
# Every other end of a placed call (no answer, busy, failed, canceled, a machine, or no final word yet) is unanswered.
REACHED_A_PERSON = ("answered", "refused")


def _audit_caps(audit: MonthAudit, contacts: list, zones: dict[str, str], config, sessions) -> None:
    """The caps counted from what happened, not from the contact policy's bookkeeping: a dial that went over a cap
    is recorded by the policy as refused_by_policy, so counting its reservations could never find it. China:
    answered calls per debtor and unanswered calls per number (the number on file, E.164: the one the dialer dials;
    borrowers who share a line share its count) per local day; US: calls per debt in any 7 days, and none in the
    7 days after a conversation about it."""
    with sessions() as session:
        numbers = dict(session.execute(select(BorrowerPhone.borrower_id, BorrowerPhone.e164)).all())
    answered, unanswered = Counter(), Counter()
    us_calls: dict[str, list[tuple[datetime, bool]]] = defaultdict(list)
    for contact in contacts:
        if contact.channel != "call" or contact.provider_id is None:
            continue  # never dialled: refused or failed closed before the carrier, or a line was not free
        audit.calls_placed += 1
        zone = zones[contact.borrower_id]
        person = contact.status in REACHED_A_PERSON
        if config.profile_for_timezone(zone) != "china":
            us_calls[contact.account_id].append((contact.planned_at, person))
            continue
        day = contact.planned_at.astimezone(ZoneInfo(zone)).date()
        if person:
            answered[(contact.borrower_id, day)] += 1
        else:
            unanswered[(numbers.get(contact.borrower_id) or contact.borrower_id, day)] += 1
    china = config.profiles["china"]
    audit.over_caps += [("answered", key, n) for key, n in answered.items() if n > china.daily_answered_per_debtor]
    audit.over_caps += [("unanswered", key, n) for key, n in unanswered.items()
                        if n > china.daily_unanswered_per_number]
    us = config.profiles["us"]
    window, cooloff = timedelta(days=us.rolling_days), timedelta(days=us.cooloff_days_after_conversation or 0)
    for account_id, calls in us_calls.items():
        calls.sort()
        for index, (moment, _) in enumerate(calls):
            earlier = calls[:index]
            if sum(1 for t, _ in earlier if moment - t < window) + 1 > us.rolling_attempts_per_debt:
                audit.over_caps.append(("us_rolling", account_id, moment.isoformat()))
            if us.cooloff_days_after_conversation is not None and any(
                    person and moment - t < cooloff for t, person in earlier):
                audit.over_caps.append(("us_cooloff", account_id, moment.isoformat()))


def _audit_payments(audit: MonthAudit, result: MonthResult, order: tuple[str, ...], grace_days: int) -> None:
    """Every payment replayed, in the order they were recorded (their payment_received events), from the balances the
    month opened with: its split over fees, interest and principal in the policy's order, the credit beyond the
    balance, the balance after it, and its split over the open instalments of the account's accepted plans, earliest
    due first; then each account's balances now, and each instalment's judgement against what was allocated to it
    before its deadline (the borrower's midnight after the due date and the grace days)."""
    with result.sessions() as session:
        order_of = {reference: index for index, reference in session.execute(
            select(FollowUpEvent.id, FollowUpEvent.reference).where(FollowUpEvent.kind == "payment_received"))}
        payments = sorted(session.scalars(select(Payment)), key=lambda p: order_of.get(p.payment_id, 0))
        split = defaultdict(dict)
        for row in session.scalars(select(PaymentAllocation)):
            split[row.payment_id][row.component] = row.amount_cents
        to_items = defaultdict(dict)
        for row in session.scalars(select(PaymentInstalmentAllocation)):
            to_items[row.payment_id][(row.plan_id, row.seq)] = row.amount_cents
        accounts = {row.account_id: row for row in session.scalars(select(LoanAccount))}
        zones = dict(session.execute(select(Borrower.borrower_id, Borrower.timezone)).all())
        started = dict(session.execute(select(ConversationRecord.conversation_id, ConversationRecord.started_at)).all())
        # Instalments of accepted plans, each with its account, due date, amount and when its plan was agreed.
        items = {}
        accepted = select(InstalmentPlanItem, InstalmentPlan).join(
            InstalmentPlan, InstalmentPlan.id == InstalmentPlanItem.plan_id).where(InstalmentPlan.status == "accepted")
        for item, plan in session.execute(accepted):
            items[(item.plan_id, item.seq)] = (plan.account_id, item.due_date, item.amount_cents,
                                               started.get(plan.conversation_id, START))
        outcomes = {(row.plan_id, row.seq): row for row in session.scalars(select(InstalmentOutcome))}
    balances = {account_id: dict(opening) for account_id, opening in result.opening_balances.items()}
    owed = {key: amount for key, (_, _, amount, _) in items.items()}
    paid_by = defaultdict(list)  # instalment -> (paid_at, cents)
    for payment in payments:
        audit.payments += 1
        audit.paid_cents += payment.amount_cents
        balance = balances[payment.account_id]
        before, left, expected = sum(balance.values()), payment.amount_cents, {}
        for component in order:
            taken = min(left, balance[component])
            if taken:
                expected[component] = taken
                left -= taken
        applied = sum(expected.values())
        if (split[payment.payment_id] != expected or payment.applied_cents != applied
                or payment.credit_cents != payment.amount_cents - applied
                or payment.balance_after_cents != before - applied):
            audit.payment_mismatches.append((payment.payment_id, "split", expected, split[payment.payment_id]))
        for component, cents in expected.items():
            balance[component] -= cents
        left, wanted = payment.amount_cents, {}
        open_items = sorted((due, key) for key, (account_id, due, _, agreed) in items.items()
                            if account_id == payment.account_id and agreed <= payment.received_at and owed[key] > 0
                            and not _cancelled_before(outcomes.get(key), payment.received_at))
        for _, key in open_items:
            if left <= 0:
                break
            wanted[key] = min(left, owed[key])
            left -= wanted[key]
        if to_items[payment.payment_id] != wanted:
            audit.payment_mismatches.append((payment.payment_id, "instalments", wanted, to_items[payment.payment_id]))
        for key, cents in wanted.items():
            owed[key] -= cents
            paid_by[key].append((payment.paid_at, cents))
    for account_id, balance in balances.items():
        now = {name: getattr(accounts[account_id], column) for name, column in COMPONENTS.items()}
        if now != balance:
            audit.payment_mismatches.append((account_id, "balance", balance, now))
    for key, (account_id, due, amount, _) in items.items():
        zone = ZoneInfo(zones[accounts[account_id].borrower_id])
        deadline = datetime.combine(due + timedelta(days=grace_days + 1), datetime.min.time(), zone)
        covered = sum(cents for paid_at, cents in paid_by[key] if paid_at < deadline)
        outcome = outcomes.get(key)
        if outcome is None:
            if deadline <= result.last_tick:  # the last tick's follow-up judged everything due by then
                audit.instalment_mismatches.append((key, None, covered, amount))
        elif outcome.outcome == "paid" and covered < amount or outcome.outcome == "missed" and (
                covered >= amount or outcome.paid_cents != covered) or outcome.outcome == "cancelled" and (
                accounts[account_id].status != "settled"):
            audit.instalment_mismatches.append((key, outcome.outcome, covered, amount))


def _cancelled_before(outcome: InstalmentOutcome | None, moment: datetime) -> bool:
    return outcome is not None and outcome.outcome == "cancelled" and outcome.decided_at < moment


def _borrower_of(ledger: Ledger, account_id: str) -> str:
    return ledger.get_account(account_id).borrower_id


def report(result: MonthResult, audit: MonthAudit) -> str:
    tally = result.tally
    lines = [
        f"simulated month: {result.config}",
        f"wall time {result.wall_seconds:.1f} s (real calls {result.real_seconds:.1f} s of it); {result.ticks} ticks, {result.tick_seconds / max(1, result.ticks) * 1000:.0f} ms "
        f"per tick (placing {result.config['borrowers']} borrowers and planning)",
        f"contact decisions {result.decisions} in {result.contact_seconds:.1f} s: "
        f"{result.decisions / max(result.contact_seconds, 1e-9):.0f} decisions/s (the real calls' time left out)",
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
        f"complaints {tally.complaints}, verification lockouts {tally.lockouts}; review queue {tally.review_items} "
        f"chosen by the daily fill, {tally.reviews} reviewed ({tally.reviews_failed} with a checklist item failed)",
        f"payments {audit.payments}, {audit.paid_cents / 100:,.2f} paid; promises by status {dict(audit.promises)}",
        f"AUDIT outside window {len(audit.outside_window)}, over caps {len(audit.over_caps)} (counted over "
        f"{audit.calls_placed} calls placed), after a stop {len(audit.after_stop)}, refusals without reason "
        f"{audit.refusals_without_reason}, refusals without a policy decision {audit.refusals_without_decision}, "
        f"promises misjudged {len(audit.misjudged_promises)}, payments not reconciled {len(audit.payment_mismatches)}, "
        f"instalments misjudged {len(audit.instalment_mismatches)} -> {'LAWFUL' if audit.lawful else 'VIOLATIONS'}",
    ]
    if result.config["real_calls"]:
        lines.append(real_calls_report(result.real_calls, result.real_start_seconds, result.real_seconds))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--borrowers", type=int, default=1000, help="Chinese borrowers (80 US ones are added)")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--tick-minutes", type=int, default=60)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--real-calls", type=int, default=3,
                        help="calls a person answers placed through the fake Twilio into a real stack, spoken with "
                             "fixture audio (benchmarks.month_calls); 0: every call drawn")
    parser.add_argument("--model", type=Path, help="the trained Rasa model for the real calls (scripts/train.sh's)")
    args = parser.parse_args()
    from tests.stack import PrivateRedis  # a redis-server of its own, never a developer's

    with tempfile.TemporaryDirectory() as workdir:
        redis_server = PrivateRedis(Path(workdir), durable=False)
        redis_server.start()
        try:
            result = asyncio.run(run_month(Path(workdir), redis_server.url, args.borrowers, 80, args.days,
                                           args.tick_minutes, args.seed, progress=print, real_calls=args.real_calls,
                                           model=args.model))
            print(report(result, audit_month(result)))
        finally:
            redis_server.stop()


if __name__ == "__main__":
    main()
