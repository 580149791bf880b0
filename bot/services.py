"""The gateway's composition root: every service is built here, once, when the gateway starts.

Every configuration file (ledger/policy.yml, bot/handoff.yml, compliance_filters/rules.yml,
distress.yml, contact_policy.yml, ledger/review.yml), the compliance classifier and the voice engines are loaded before
the first request, so a typo stops start-up with a message naming the file and the key instead of
failing on a borrower's turn. Routes receive what they need through `bot.dependencies`.
"""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import AsyncIterator, Callable

import httpx
import redis

from bot.audit import AuditTrail
from bot.audit_seal import AnchorFile, load_audit_key
from bot.recording_notice import VOICE_CHANNELS
from bot.recordings import CallRecordings, call_recordings
from bot.channels.state import make_channel_state
from bot.console.agents import AgentDirectory
from bot.console.auth import ConsoleSessions
from bot.channels.call_transfer import AgentLine, CallHandover
from bot.channels.outbound_call import OutboundCalls
from bot.channels.phone_arrival import PhoneArrival
from bot.circuit import Circuit
from bot.conversations import ConversationService, FaultReplies
from bot.handoff.assignments import make_assignments
from bot.handoff.bus import PushBus, make_push_bus
from bot.handoff.callbacks import CallbackOffers
from bot.handoff.desk import HandoffDesk
from bot.handoff.policy import load_handoff_policy
from bot.handoff.queue import make_handoff_queue
from bot.key_files import BearerKey
from bot.lender_key import load_payments_api_key
from bot.metrics_endpoint import load_metrics_key
from bot.links import BorrowerLinks, load_link_key
from bot.rasa_client import RasaClient
from bot.redis_connection import connect as connect_redis
from bot.rate_limits import RateLimits, SocketSlots
from bot.sessions import make_session_store
from bot.turn_cap import TurnCap
from campaigns.demo_inbox import DemoInbox
from campaigns.claim_resolution import ClaimResolutions
from campaigns.demo_phone import DemoPhone
from campaigns.due_now import DueNow
from campaigns.segmenter import Segmenter
from campaigns.strategy import Strategy, load_strategy
from campaigns.tick import CampaignTick
from compliance_filters.check import load_classifier_once
from campaigns.call_slots import CallSlots
from campaigns.twilio_dialer import TwilioCalls
from campaigns.dial_tickets import DialTickets
from compliance_filters.contact_policy import ContactPolicy, ContactPolicyConfig, load_config as load_contact_policy
from compliance_filters.distress import shipped_lexicon
from compliance_filters.rules import default_rules
from configuration.settings import Settings
from ledger.db import create_schema, make_engine, make_session_factory
from ledger.follow_up import FollowUp
from ledger.campaign_records import CampaignRecords
from ledger.kpis import Kpis
from ledger.payments import Payments
from ledger.policy import load_policy
from ledger.portfolio import Portfolio
from ledger.quality_review import QualityReviewBook, load_sampling
from ledger.repository import Ledger
from voice.asr import make_asr_engine, make_decode_pool
from voice.call import VoiceServices
from voice.tts import make_tts_engine


@dataclass(frozen=True)
class GatewayServices:
    settings: Settings
    clock: Callable[[], datetime]
    ledger: Ledger
    rasa: RasaClient
    conversations: ConversationService
    desk: HandoffDesk
    bus: PushBus
    links: BorrowerLinks
    phone: PhoneArrival  # who a carrier's call is for (bot.channels.phone_arrival)
    outbound: OutboundCalls | None  # calls our dialer placed (bot.channels.outbound_call); needs phone calls and Redis
    dial_tickets: DialTickets
    console_sessions: ConsoleSessions
    console_agents: AgentDirectory
    contact_policy: ContactPolicyConfig
    callback_offers: CallbackOffers
    handover: CallHandover  # a phone call queued for a person: transferred through the carrier, or a callback
    voice: VoiceServices
    limits: RateLimits
    sockets: SocketSlots  # chat sockets open per client address, in this process
    strategy: Strategy  # campaigns/strategy.yml
    campaign_records: CampaignRecords
    segmenter: Segmenter  # places a borrower again at once after a payment, a dispute, a hardship claim
    claims: ClaimResolutions  # a supervisor closes a dispute or hardship claim (bot.console.claims)
    campaigns_due: DueNow  # the worker's planning, asked read-only: who its next tick would contact (console)
    payments: Payments  # the lender's payments (bot.routes.payments)
    lender_key: BearerKey  # what the lender presents on /api/payments
    metrics_key: BearerKey  # what Prometheus presents on /metrics (bot.metrics_endpoint)
    quality_review: QualityReviewBook  # the quality review queue and scores (bot.console.review)
    kpis: Kpis  # the supervisor's dashboard figures (bot.console.dashboard)
    recordings: CallRecordings  # call recordings: kept, played in the console (also while new calls are not recorded)
    demo_inbox: DemoInbox | None = None  # reminders the demo messenger kept (/demo/inbox), while it is in use
    demo_phone: DemoPhone | None = None  # where the worker's calls ring while no carrier is configured (/demo/phone)


def _load_files(settings: Settings) -> tuple:
    """Everything read from disk, validated now; raises ConfigFileError naming the file and key."""
    default_rules()
    shipped_lexicon()
    load_classifier_once()  # first run trains it (about a minute), never on a borrower's turn
    contact_policy = load_contact_policy(settings.compliance.contact_policy_file)
    return (
        FaultReplies(settings.gateway.fault_reply_text, settings.gateway.unavailable_reply_text,
                     settings.rasa.reply_wait_seconds, settings.gateway.turn_result_ttl_seconds,
                     fault_text_en=settings.gateway.fault_reply_text_en).checked(),
        load_policy(settings.ledger.policy_file),
        load_handoff_policy(settings.handoff.policy_file),
        contact_policy,
        load_strategy(settings.campaigns.strategy_file, contact_policy),
        load_sampling(),
    )


@asynccontextmanager
async def gateway_services(settings: Settings, clock: Callable[[], datetime]) -> AsyncIterator[GatewayServices]:
    faults, collection_policy, handoff_policy, contact_policy, strategy, review_sampling = await asyncio.to_thread(
        _load_files, settings)
    asr, tts = await asyncio.gather(asyncio.to_thread(make_asr_engine, settings.voice),
                                    asyncio.to_thread(make_tts_engine, settings.voice))
    engine = make_engine(settings.ledger.url())
    await asyncio.to_thread(create_schema, engine)
    session_factory = make_session_factory(engine)
    ledger = Ledger(session_factory, collection_policy)
    audit_key = load_audit_key(settings.audit)
    audit = AuditTrail(session_factory, audit_key, AnchorFile(settings.audit.anchor_file, audit_key))
    recordings = call_recordings(settings, session_factory, audit)
    link_key = load_link_key(settings.gateway)  # a missing key file is created now
    links = BorrowerLinks(link_key)
    lender_key = BearerKey(load_payments_api_key(settings.gateway))  # a missing key file is created now
    metrics_key = load_metrics_key(settings.metrics)  # likewise
    redis_url = settings.redis_url
    async with AsyncExitStack() as closing:
        closing.callback(engine.dispose)
        decode_pool = make_decode_pool(settings.voice)
        closing.callback(decode_pool.shutdown, wait=False, cancel_futures=True)

        def closable(resource):
            closing.push_async_callback(resource.aclose)
            return resource

        gateway = settings.gateway
        store = closable(make_session_store(redis_url, gateway.memory_store_max_conversations))
        rasa = closable(RasaClient(
            settings.rasa.urls, settings.rasa.token, settings.rasa.timeout_seconds,
            Circuit("rasa", settings.rasa.circuit_failure_threshold, settings.rasa.circuit_cooldown_seconds)))
        bus = closable(make_push_bus(redis_url))
        desk = HandoffDesk(
            closable(make_handoff_queue(redis_url)), closable(make_assignments(redis_url)), ledger, handoff_policy,
            closable(make_channel_state(redis_url, "collections:handoff:trigger")),
        )
        agents = AgentDirectory(session_factory)
        hash_pool = ThreadPoolExecutor(max_workers=settings.console.password_hash_workers, thread_name_prefix="argon2")
        closing.callback(hash_pool.shutdown, wait=False, cancel_futures=True)
        console = settings.console
        console_sessions = ConsoleSessions(
            closable(make_channel_state(redis_url, "collections:console:session")), agents, console.session_ttl_seconds,
            closable(make_channel_state(redis_url, "collections:console:sign-in")), console.max_failed_sign_ins,
            console.max_failed_sign_ins_per_address, console.failed_sign_in_window_seconds, hash_pool,
        )
        turn_cap = TurnCap(closable(make_channel_state(redis_url, "collections:turns")), gateway.max_turns_per_conversation)
        campaign_records = CampaignRecords(session_factory)
        conversations = ConversationService(
            store, rasa, ledger, audit, clock, gateway.max_message_chars, faults,
            handoff=desk, bus=bus, turns=closable(make_channel_state(redis_url, "collections:turn-results")),
            turn_cap=turn_cap,
            unrecorded_channels=frozenset() if settings.recordings.enabled else VOICE_CHANNELS,
            campaign_records=campaign_records,
        )
        phone = PhoneArrival(settings.voice, link_key, ledger.borrowers_at_number)
        outbound = None
        # The contact caps, call slots and call marks live where the campaign worker keeps its own.
        campaign_redis_url = settings.campaigns.redis_url or redis_url
        # Calls the dialer placed are answered through the carrier, or, with none configured, on the demo phone.
        demo_phone = None
        if campaign_redis_url and (phone.signatures.enabled or settings.demo):
            policy_redis = redis.Redis.from_url(campaign_redis_url)  # ContactPolicy is synchronous (run off the loop)
            closing.callback(policy_redis.close)
            outbound_redis = closable(connect_redis(campaign_redis_url))
            dialer = settings.dialer
            outbound = OutboundCalls(
                dialer, phone.signatures, phone.tokens, ledger, audit,
                ContactPolicy(policy_redis, ledger, contact_policy), outbound_redis,
                CallSlots(outbound_redis, dialer.max_concurrent_calls, dialer.max_call_seconds), clock, campaign_records,
            ).checked()
            if settings.demo:
                demo_phone = DemoPhone(outbound_redis, dialer.ring_seconds)
        callback_offers = CallbackOffers(
            desk.queue, conversations, ledger, settings.handoff.wait_timeout_seconds, clock, contact_policy)
        handover = CallHandover(conversations, desk.queue, ledger, callback_offers,
                                *agent_line_and_carrier(settings, closable),
                                link_key=link_key, public_url=settings.voice.public_url)
        segmenter = Segmenter(strategy, Portfolio(session_factory), campaign_records)
        yield GatewayServices(
            settings=settings, clock=clock, ledger=ledger, rasa=rasa, conversations=conversations, desk=desk,
            bus=bus, links=links, phone=phone, outbound=outbound,
            dial_tickets=DialTickets(link_key, settings.dialer.max_call_seconds),
            console_sessions=console_sessions, console_agents=agents, contact_policy=contact_policy,
            callback_offers=callback_offers, handover=handover,
            voice=VoiceServices(conversations, asr, decode_pool, tts, settings.voice, pushes=bus,
                                plan_lengths=collection_policy.plan_lengths(), outbound=outbound, handover=handover,
                                recordings=recordings if settings.recordings.enabled else None),
            limits=closable(RateLimits(gateway, redis_url)), sockets=SocketSlots(gateway.max_sockets_per_client),
            strategy=strategy, campaign_records=campaign_records, segmenter=segmenter,
            claims=ClaimResolutions(ledger, audit, segmenter, clock),
            campaigns_due=DueNow(CampaignTick(segmenter, campaign_records, FollowUp(session_factory, collection_policy)),
                                 settings.campaigns.tick_seconds),
            payments=Payments(session_factory, collection_policy, clock), lender_key=lender_key,
            metrics_key=metrics_key, quality_review=QualityReviewBook(session_factory, ledger, review_sampling),
            kpis=Kpis(session_factory), recordings=recordings,
            demo_inbox=DemoInbox(session_factory) if settings.demo else None, demo_phone=demo_phone,
        )


def agent_line_and_carrier(settings: Settings, closable) -> tuple[AgentLine | None, TwilioCalls | None]:
    """Where phone calls handed to a person are transferred, and the carrier's API that transfers them (none
    configured: callbacks instead). A line without the carrier's account stops the start, naming what is missing."""
    if settings.handoff.agent_line is None:
        return None, None
    missing = [name for name, value in (
        ("COLLECTIONS_DIALER_ACCOUNT_SID", settings.dialer.account_sid),
        ("COLLECTIONS_VOICE_TWILIO_AUTH_TOKEN", settings.voice.twilio_auth_token)) if value is None]
    if missing:
        raise ValueError(f"COLLECTIONS_HANDOFF_AGENT_LINE needs {', '.join(missing)}")
    carrier = TwilioCalls(settings.dialer, settings.voice.twilio_auth_token.get_secret_value(),
                          closable(httpx.AsyncClient()))
    return AgentLine.parse(settings.handoff.agent_line), carrier
