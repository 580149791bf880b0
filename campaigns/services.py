"""The campaign worker's composition root: every service built once, every file validated, before any job runs."""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import AsyncIterator, Callable

import redis as sync_redis

from bot.redis_connection import connect
from campaigns.contact import ContactServices, Contactor
from bot.audit import AuditTrail
from bot.audit_seal import AnchorFile, load_audit_key
from bot.channels.outbound_call import OutboundCalls
from bot.channels.phone_arrival import CallTokens, CarrierSignatures
from bot.links import load_link_key
from campaigns.call_slots import CallSlots
from campaigns.demo_phone import DemoPhone, DemoPhoneDialer
from campaigns.dialer import Dialer, NoCarrier
from campaigns.messenger import make_invitation_links, make_messenger
from campaigns.segmenter import Segmenter
from campaigns.strategy import load_strategy
from campaigns.tick import CampaignTick
from campaigns.twilio_dialer import make_twilio_dialer
from campaigns.worker import CampaignJobs, make_broker
from compliance_filters.contact_policy import ContactPolicy, load_config as load_contact_policy
from configuration.settings import Settings
from ledger.campaign_records import CampaignRecords
from ledger.db import create_schema, make_engine, make_session_factory
from ledger.follow_up import FollowUp
from ledger.policy import load_policy
from ledger.portfolio import Portfolio
from ledger.quality_review import QualityReviewBook, load_sampling
from ledger.repository import Ledger


@dataclass(frozen=True)
class CampaignServices:
    broker: object
    jobs: CampaignJobs
    tick: CampaignTick
    contactor: Contactor
    records: CampaignRecords
    clock: Callable[[], datetime]


def make_dialer(settings: Settings, redis_client, outcomes: Callable[[CallSlots], OutboundCalls]) -> Dialer:
    """Twilio when its account and number are set (make_twilio_dialer names any other setting it lacks); in the demo
    (no real provider at all) the demo phone, whose rings the gateway's /demo/phone page answers (`outcomes`, given
    the demo phone's call slots, reports the ones that rang out and frees their lines); else no calls."""
    if settings.dialer.enabled:
        return make_twilio_dialer(settings, redis_client)
    if not settings.demo:
        return NoCarrier()
    dialer = settings.dialer
    slots = CallSlots(redis_client, dialer.max_concurrent_calls, dialer.max_call_seconds)
    return DemoPhoneDialer(DemoPhone(redis_client, dialer.ring_seconds), slots, dialer.max_concurrent_calls,
                           outcomes(slots))


def _outcomes(settings: Settings, ledger: Ledger, sessions, policy: ContactPolicy, redis_client, slots: CallSlots,
              records: CampaignRecords, clock: Callable[[], datetime]) -> OutboundCalls:
    """The gateway's outbound-call logic, for the calls the demo phone reports from the worker's side."""
    link_key = load_link_key(settings.gateway)
    audit_key = load_audit_key(settings.audit)
    return OutboundCalls(settings.dialer, CarrierSignatures(settings.voice),
                         CallTokens(link_key, settings.voice.call_token_seconds), ledger,
                         AuditTrail(sessions, audit_key, AnchorFile(settings.audit.anchor_file, audit_key)), policy,
                         redis_client, slots, clock, records)


def _clock(settings: Settings) -> Callable[[], datetime]:
    return lambda: settings.gateway.fixed_now or datetime.now(UTC)


@asynccontextmanager
async def campaign_services(settings: Settings, clock: Callable[[], datetime] | None = None) -> AsyncIterator[CampaignServices]:
    clock = clock or _clock(settings)
    redis_url = settings.campaigns.broker_url(settings.redis_url)
    contact_config = load_contact_policy(settings.compliance.contact_policy_file)
    strategy = load_strategy(settings.campaigns.strategy_file, contact_config)
    engine = make_engine(settings.ledger.url())
    await asyncio.to_thread(create_schema, engine)
    sessions = make_session_factory(engine)
    ledger = Ledger(sessions, load_policy(settings.ledger.policy_file))
    records = CampaignRecords(sessions)
    policy_redis = sync_redis.Redis.from_url(redis_url, decode_responses=True)
    lock_redis = connect(redis_url)
    policy = ContactPolicy(policy_redis, ledger, contact_config)
    dialer = make_dialer(settings, lock_redis,
                         lambda slots: _outcomes(settings, ledger, sessions, policy, lock_redis, slots, records, clock))
    messenger = make_messenger(settings, ledger)
    try:
        contactor = Contactor(ContactServices(
            records=records, ledger=ledger, policy=policy,
            dialer=dialer, messenger=messenger, invitation_link=make_invitation_links(settings), redis=lock_redis,
            clock=clock, demo_providers=settings.demo))
        tick = CampaignTick(Segmenter(strategy, Portfolio(sessions), records), records, FollowUp(sessions, ledger.policy))
        broker = make_broker(redis_url)
        review = QualityReviewBook(sessions, ledger, load_sampling())
        jobs = CampaignJobs(broker, tick, contactor, clock, settings.campaigns.tick_seconds, review,
                            settings.campaigns.review_fill_hour)
        yield CampaignServices(broker=broker, jobs=jobs, tick=tick, contactor=contactor, records=records, clock=clock)
    finally:
        for closable in (dialer, messenger):
            close = getattr(closable, "aclose", None)
            if close is not None:
                await close()
        await lock_redis.aclose()
        policy_redis.close()
        engine.dispose()
