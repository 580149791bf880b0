"""The Prometheus metrics of the gateway and the campaign worker (served by bot.metrics_endpoint).

Every label value comes from a short list the code or its configuration fixes (a channel, a rule id, a refusal
reason): never a borrower, a conversation, or free text, so the number of series stays bounded. A value outside
its list is counted as "other". Both processes run one Python process each (no uvicorn --workers), so the default
registry in memory is the whole truth for a process and no multiprocess mode is needed.
"""
from __future__ import annotations

import re

from prometheus_client import Counter, Gauge, Histogram

OTHER = "other"
# Names this code gives (channels, outcomes, kinds): letters, digits, _ and -; a rule id like CTX-001-debt-detail.
_IDENTIFIER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CHANNELS = frozenset({"rest", "websocket", "webchat", "wechat", "phone", "browser_voice"})
SPEAKERS = frozenset({"bot", "agent"})

# Seconds; a chat turn is mostly Rasa (tens of ms to a few s), a handoff wait is minutes.
_TURN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0)
_VOICE_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0)
_WAIT_BUCKETS = (5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0)

# --- gateway ------------------------------------------------------------------------------------------------
TURN_SECONDS = Histogram(
    "collections_turn_seconds", "A borrower turn in the gateway, words in to reply out, by channel",
    ["channel"], buckets=_TURN_BUCKETS)
RASA_SECONDS = Histogram(
    "collections_rasa_seconds", "One round trip to Rasa for a turn, by outcome "
    "(answered, turn_failed, not_reached, error)", ["outcome"], buckets=_TURN_BUCKETS)
ASR_SECONDS = Histogram(
    "collections_asr_seconds", "One speech-recognition decode (in the ASR pool, without its queue)",
    buckets=_VOICE_BUCKETS)
TTS_SECONDS = Histogram(
    "collections_tts_first_chunk_seconds", "Text to the first chunk of synthesized audio for a spoken reply, "
    "by call channel", ["channel"], buckets=_VOICE_BUCKETS)
REPLY_AUDIO_SECONDS = Histogram(
    "collections_call_reply_audio_seconds", "On a call: the end of the caller's speech to the first frame of the "
    "bot's reply sent, by call channel", ["channel"], buckets=_VOICE_BUCKETS)
HANDOFF_QUEUE_DEPTH = Gauge(
    "collections_handoff_queue_depth", "Conversations waiting for a person (the shared queue, read at scrape)")
HANDOFF_OLDEST_WAIT = Gauge(
    "collections_handoff_oldest_wait_seconds", "How long the longest-waiting conversation has waited (read at "
    "scrape; 0 when none waits)")
HANDOFF_WAIT_SECONDS = Histogram(
    "collections_handoff_wait_seconds", "Queue wait of a conversation an agent took, by handoff reason",
    ["reason"], buckets=_WAIT_BUCKETS)
COMPLIANCE_BLOCKS = Counter(
    "collections_compliance_blocks", "Utterances the compliance filter blocked, per rule that fired and speaker",
    ["rule", "speaker"])
ERRORS = Counter("collections_errors", "Failures by kind (see README, Metrics)", ["kind"])

# --- campaign worker ----------------------------------------------------------------------------------------
CONTACT_ATTEMPTS = Counter(
    "collections_contact_attempts", "Campaign contacts by channel (call, message) and how they ended "
    "(dialled, sent, refused, failed, error, deferred)", ["channel", "outcome"])
CONTACT_REFUSALS = Counter(
    "collections_contact_refusals", "Campaign contacts refused, by reason (the contact policy's, or no number or "
    "recipient)", ["reason"])

# Every metric family above by its exposed name(s): the Grafana dashboard's test checks its expressions against it.
REGISTERED = (TURN_SECONDS, RASA_SECONDS, ASR_SECONDS, TTS_SECONDS, REPLY_AUDIO_SECONDS, HANDOFF_QUEUE_DEPTH,
              HANDOFF_OLDEST_WAIT, HANDOFF_WAIT_SECONDS, COMPLIANCE_BLOCKS, ERRORS, CONTACT_ATTEMPTS, CONTACT_REFUSALS)


def bounded(value: str, allowed: frozenset[str] | None = None) -> str:
    """`value` if it is one of `allowed` (or, without a list, a short identifier); else "other"."""
    if allowed is not None:
        return value if value in allowed else OTHER
    return value if _IDENTIFIER.match(value or "") else OTHER


def count_error(kind: str) -> None:
    ERRORS.labels(kind=bounded(kind)).inc()
