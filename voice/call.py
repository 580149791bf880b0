"""One voice call: borrower audio → VAD → ASR (off the event loop) → the conversation service (which
sends every reply through the compliance egress) → TTS of those replies only, sentence by sentence → paced audio
frames, with barge-in, silence re-prompts, DTMF digits and a polite hang-up.

Turn-taking: a reply to a turn the caller has already spoken past (they started talking again before any of it was
played) is held back, and dropped unsaid once that new speech turns out to be words; a reply offering choices
(buttons: "确认请按1，不同意请按2") takes its answer from the keypad too.

The pipeline knows frames, never wire formats; a transport turns them into a carrier's messages.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, replace
from concurrent.futures import Executor
from typing import Any, Awaitable, Callable, Protocol

from redis.exceptions import RedisError

from chinese_text.language import written_language
from compliance_filters.distress import detect_distress
from ledger.notices import notice
from ledger.references import mask_reference
from monitoring import metrics
from voice.asr import AsrEngine, transcribe_async
from voice.asr.base import Transcript
from voice.codecs import StreamResampler
from voice.heard_values import HeardValues, confirmation_answer, heard_values
from voice.frames import (
    BorrowerText, BotText, CallEnding, ClearPlayback, Dtmf, InputAudio, OutboundFrame, OutputAudio, OutputMark,
    PlaybackMark,
)
from voice.playback import Interrupted, Playback, Reply, Utterance
from configuration.settings import VoiceSettings
from voice.tts.base import TtsEngine
from voice.tts.text import split_sentences
from voice.turn_completion import Awaited, answers, awaited_answer
from voice.vad import SpeechConfirmed, SpeechStarted, TurnDetector, TurnEnded, TurnPaused

logger = logging.getLogger("voice.call")

FRAME_MS = 20                 # outbound audio frame, what carriers expect
MAX_PENDING_TURNS = 2         # turns waiting for ASR; beyond this the oldest is dropped (bounded memory)
MAX_PENDING_SPEECH = 8        # reply batches waiting for TTS
DTMF_DIGITS_FOR_ID = 4        # the ID question asks for the last four digits
# Keyed digits reach the dialogue as the answer they are; bare digits alone are too ambiguous for NLU.
DTMF_ID_ANSWER = "身份证后四位是{digits}"
DTMF_GAP_SECONDS = 6.0        # a longer pause between keys starts a new entry
HANGUP_WAIT_SECONDS = 20.0    # longest wait for the carrier to play the last words before hanging up
TRANSFER_STOP_WAIT_SECONDS = 10.0  # a transferred call's stream is ended by the carrier; after this, by us
WATCHDOG_TICK_SECONDS = 0.1
PUSH_RETRY_SECONDS = 1.0      # after the push seam failed (Redis down), listen again this soon
NO_SPEECH = "no_speech"       # Transcript.rejected for noise, coughs and breathing: not worth an answer


class Conversations(Protocol):
    """What a call needs from bot.conversations.ConversationService."""

    async def open(self, borrower_id: str, channel: str, *, conversation_id: str | None = None, call_script: str = "",
                   opening: bool = True) -> tuple[Any, Any]: ...
    async def handle(self, conversation_id: str, text: Any) -> Any: ...
    async def note_borrower_words(self, conversation_id: str, text: Any) -> str: ...
    async def handle_recorded(self, conversation_id: str, text: str) -> Any: ...
    async def say(self, conversation_id: str, texts: list[str], speaker: str = "bot") -> list[Any]: ...
    async def record_interruption(self, conversation_id: str, text: str, heard_text: str) -> None: ...
    faults: Any  # bot.conversations.FaultReplies: what to say when storage is down


@dataclass(frozen=True)
class CallParty:
    """Who a call is for: the borrower, and on a call the lender's dialer placed, its attempt and script."""
    borrower_id: str
    attempt_id: str | None = None
    script: str = ""  # the strategy's script variant ('reminder', 'overdue_firm', …): for the dialogue, as turn metadata
    carrier_call_id: str | None = None  # the carrier's id of the live call (Twilio's CallSid): how it is transferred


class OutboundAdmission(Protocol):
    """bot.channels.outbound_call.OutboundCalls: may a call the dialer placed, now answered, go on?"""

    async def admit(self, party: CallParty) -> bool | None:
        """True: the answered contact is reserved against the caps; False: refused (the bot ends the call
        politely without collecting); None: not a call to take at all (its stream already ran)."""


class CallRecording(Protocol):
    """bot.recordings.CallRecording: both sides of one call, as they reach and leave the line."""

    def heard(self, pcm16: bytes, stream_ms: int | None = None) -> None: ...
    def said(self, pcm16: bytes) -> None: ...
    def cleared(self) -> None: ...
    async def finish(self) -> Any: ...


class Recordings(Protocol):
    """bot.recordings.CallRecordings; without it, calls are not recorded."""

    def start(self, conversation_id: str, borrower_id: str | None, channel: str, sample_rate: int,
              line_opened: float | None = None) -> CallRecording | None: ...


class Pushes(Protocol):
    """bot.handoff.bus.PushBus: words for a conversation sent outside a borrower turn."""

    async def subscribe(self, conversation_id: str | None) -> Any: ...


class Handover(Protocol):
    """bot.channels.call_transfer.CallHandover: a call the dialogue queued for a person goes to one."""

    async def hand_over(self, conversation_id: str, carrier_call_id: str | None,
                        announce: Callable[[str], Awaitable[None]]) -> bool:
        """True: the carrier is transferring the call (its stream ends); False: a callback was offered instead.
        `announce(text)` says the words on the call (through the egress) and returns once they have played."""


@dataclass(frozen=True)
class VoiceServices:
    """Shared by every call in the process."""
    conversations: Conversations
    asr: AsrEngine
    decode_pool: Executor
    tts: TtsEngine
    settings: VoiceSettings
    pushes: Pushes | None = None
    plan_lengths: frozenset[int] = frozenset()  # the policy's instalment counts; any other is read back (empty: none)
    outbound: OutboundAdmission | None = None  # without it, no call the dialer placed is taken
    handover: Handover | None = None  # without it, a call queued for a person waits on the line like a chat
    recordings: Recordings | None = None  # without it, calls are not recorded


@dataclass(frozen=True)
class AudioTurn:
    pcm16: bytes
    sample_rate: int
    early_decode: asyncio.Future | None = None  # started on a pause, for exactly this audio
    speech_ended_at: float | None = None  # time.monotonic() when the caller stopped talking (None: cut, still talking)
    speeches_before: int = 0  # the call's confirmed speeches when the turn was queued: a later one supersedes its reply


@dataclass(frozen=True)
class TextTurn:
    text: str  # keyed digits, or the answer a keyed choice stands for
    speeches_before: int = 0


@dataclass(frozen=True)
class KeyedAnswer:
    yes: bool  # 1 or 2 keyed while a number heard is being confirmed
    speeches_before: int = 0


Turn = AudioTurn | TextTurn | KeyedAnswer


@dataclass(frozen=True)
class Withheld:
    """A reply to a turn the caller spoke past before it was played: said only if what they said was not words."""
    texts: list[str]
    choices: tuple[str, ...] | None


@dataclass(frozen=True)
class HeldTurn:
    """Words with a number the caller is asked to confirm before the dialogue acts on them."""
    text: str
    values: HeardValues


Send = Callable[[OutboundFrame], Awaitable[None]]
Hangup = Callable[[str], Awaitable[None]]


class VoiceCall:
    def __init__(self, services: VoiceServices, send: Send, hangup: Hangup, sample_rate: int, channel: str) -> None:
        self._services = services
        self._settings = services.settings
        self._send = send
        self._hangup = hangup
        self._rate = sample_rate
        self._channel = channel
        self._detector = TurnDetector(sample_rate, services.settings)
        self._playback = Playback()
        self._turns: asyncio.Queue[Turn] = asyncio.Queue(MAX_PENDING_TURNS)
        self._speech: asyncio.Queue[tuple[list[str], float | None]] = asyncio.Queue(MAX_PENDING_SPEECH)
        self._tasks: list[asyncio.Task] = []
        self._speaker: asyncio.Task | None = None
        self._speaking = False
        self._unstarted: list[str] = []  # the speaker's current batch: messages after the one it is saying
        self._turn_in_progress = False
        self._digits: list[str] = []
        self._last_digit_at = 0.0
        self._silent_reprompts = 0
        self._idle_since = time.monotonic()
        self._ending = False
        self.conversation_id = ""
        self._language = "zh"  # the conversation's: the borrower's record, then the language the bot replies in
        self._early_decode: tuple[int, asyncio.Future] | None = None  # (audio length, decode) since the last pause
        self._held: HeldTurn | None = None  # read back, waiting for the caller's yes or no
        self._speeches = 0  # borrower speech confirmed so far (past the barge-in length): a new turn has begun
        self._withheld: Withheld | None = None
        self._choices: tuple[str, ...] = ()  # what keys 1, 2, … answer to the question the last reply asked
        self._awaited: Awaited | None = None  # what the bot's last words asked for, when its answer is known complete
        self._verified = False  # numbers are read back only once they can be acted on, and may be said
        self._declined = False  # refused by the contact policy: nothing the borrower says is taken up
        self._carrier_call_id: str | None = None
        self._handing_over = False
        self._recording: CallRecording | None = None
        self._line_opened = time.monotonic()  # the recording's time zero: audio queues while the conversation opens

    # ---- life cycle -------------------------------------------------------------------------------

    async def start(self, party: CallParty, admitted: bool = True) -> None:
        """`admitted` False: a call the dialer placed that the contact policy refused once answered (a cap reached
        by a race): the bot says a neutral goodbye and hangs up, and the dialogue never starts."""
        conversation, opening = await self._services.conversations.open(
            party.borrower_id, self._channel, conversation_id=party.attempt_id, call_script=party.script,
            opening=admitted)
        self.conversation_id = conversation.conversation_id
        self._language = conversation.language
        self._carrier_call_id = party.carrier_call_id
        if self._services.recordings is not None:
            self._recording = self._services.recordings.start(
                self.conversation_id, party.borrower_id, self._channel, self._rate, self._line_opened)
        logger.info("call started conversation=%s borrower=%s channel=%s%s",
                    mask_reference(self.conversation_id), mask_reference(party.borrower_id), self._channel,
                    "" if admitted else " (declined by the contact policy)")
        self._speaker = self._spawn(self._speaker_loop(), "speaker")
        if not admitted:
            self._declined = True
            await self._say([notice(self._language, "call_declined")])
            self._spawn(self._end_call("contact_refused"), "decline")
            return
        self._spawn(self._turn_worker(), "turns")
        self._spawn(self._watchdog(), "watchdog")
        if self._services.pushes is not None:
            self._spawn(self._hear_pushes(), "pushes")
        await self._speak_replies(opening)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        recording, self._recording = self._recording, None
        if recording is not None:
            await recording.finish()

    def _spawn(self, coroutine: Awaitable[None], name: str) -> asyncio.Task:
        task = asyncio.create_task(self._guarded(coroutine, name))
        self._tasks = [*(running for running in self._tasks if not running.done()), task]  # a long call keeps few
        return task

    async def _guarded(self, coroutine: Awaitable[None], name: str) -> None:
        """A failure inside one call ends that call, politely if possible, and nothing else."""
        try:
            await coroutine
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 — any failure ends this call only
            logger.error("call %s: %s failed: %s", mask_reference(self.conversation_id), name, type(error).__name__,
                         exc_info=error)
            metrics.count_error("call_failed")
            if not self._ending:
                self._ending = True
                await self._hangup("internal_error")

    # ---- inbound ----------------------------------------------------------------------------------

    async def on_audio(self, frame: InputAudio) -> None:
        if self._recording is not None:
            self._recording.heard(frame.pcm16, frame.stream_ms)
        if self._declined:
            return
        for event in self._detector.feed(frame.pcm16):
            if isinstance(event, SpeechStarted):
                self._idle_since = time.monotonic()
            elif isinstance(event, SpeechConfirmed):
                self._silent_reprompts = 0
                self._speeches += 1
                if self._bot_audible():
                    await self._barge_in()
            elif isinstance(event, TurnPaused):
                self._start_early_decode(event)
            elif isinstance(event, TurnEnded):
                self._turn_ended(event)

    def _turn_ended(self, event: TurnEnded) -> None:
        if event.capped:
            logger.info("call %s: utterance cut at %.0f s", mask_reference(self.conversation_id),
                        self._settings.max_utterance_seconds)
        early, self._early_decode = self._early_decode, None
        # The early decode is used only if no speech came after the pause it started on.
        usable = early is not None and early[0] == len(event.pcm16)
        if early is not None and not usable:
            early[1].cancel()  # still queued: never decoded; already running: result ignored
        ended_at = None if event.capped else time.monotonic() - event.silence_seconds
        self._enqueue_turn(AudioTurn(event.pcm16, event.sample_rate, early[1] if usable else None, ended_at))

    def _start_early_decode(self, pause: TurnPaused) -> None:
        """At most one early decode per call: a borrower pausing often must not fill the shared ASR pool."""
        if self._turn_in_progress or (self._early_decode is not None and not self._early_decode[1].done()):
            return  # this call already has a decode in the pool; the turn's own decode will do
        decode = self._decode(pause.pcm16, pause.sample_rate)
        self._early_decode = (len(pause.pcm16), decode)
        if self._settings.end_turn_on_complete_answer:
            decode.add_done_callback(lambda done: self._end_turn_if_answered(len(pause.pcm16), done))

    def _end_turn_if_answered(self, spoken_bytes: int, decode: asyncio.Future) -> None:
        """The early decode heard a complete answer to what was asked (the four ID digits, a clear yes or no) and
        the caller is still silent: the turn ends now, not after the rest of the end-of-turn silence."""
        if (decode.cancelled() or decode.exception() is not None or self._early_decode is None
                or self._early_decode[1] is not decode or not answers(self._awaited, decode.result().text)):
            return
        ended = self._detector.end_paused_turn(spoken_bytes)
        if ended is not None:
            self._turn_ended(ended)

    def _decode(self, pcm16: bytes, sample_rate: int) -> asyncio.Future:
        # After the ID question the engine may decode the answer carefully at once (the window stays its choice).
        decode = asyncio.ensure_future(transcribe_async(
            self._services.asr, pcm16, sample_rate, self._services.decode_pool, self._language,
            numbers_expected=self._awaited is Awaited.ID_DIGITS))
        decode.add_done_callback(lambda done: done.cancelled() or done.exception())  # discarded ones too
        return decode

    async def on_mark(self, frame: PlaybackMark) -> None:
        self._playback.acknowledged(frame.name)

    async def on_dtmf(self, frame: Dtmf) -> None:
        if self._declined:
            return
        now = time.monotonic()
        if now - self._last_digit_at > DTMF_GAP_SECONDS or frame.digit == "*":
            self._digits.clear()
        self._last_digit_at = now
        self._silent_reprompts = 0
        if self._held is not None and frame.digit in ("1", "2") and not self._digits:
            self._enqueue_turn(KeyedAnswer(frame.digit == "1"))
            return
        if self._choices and not self._digits and frame.digit in "123456789"[:len(self._choices)]:
            # The answer the key stands for, in words the dialogue understands (as keyed ID digits are).
            self._enqueue_turn(TextTurn(self._choices[int(frame.digit) - 1]))
            self._choices = ()
            return
        if frame.digit.isdigit():
            self._digits.append(frame.digit)
        if (frame.digit == "#" and self._digits) or len(self._digits) == DTMF_DIGITS_FOR_ID:
            self._enqueue_turn(TextTurn(DTMF_ID_ANSWER.format(digits="".join(self._digits))))
            self._digits.clear()

    def _enqueue_turn(self, turn: Turn) -> None:
        if self._turns.full():
            self._turns.get_nowait()
            logger.warning("call %s: turns arrive faster than they are decoded; oldest dropped",
                           mask_reference(self.conversation_id))
        self._turns.put_nowait(replace(turn, speeches_before=self._speeches))

    # ---- turns ------------------------------------------------------------------------------------

    async def _turn_worker(self) -> None:
        while True:
            turn = await self._turns.get()
            self._turn_in_progress = True
            try:
                await self._take_turn(turn)
            finally:
                self._turn_in_progress = False
                self._idle_since = time.monotonic()

    async def _take_turn(self, turn: Turn) -> None:
        transcript = None
        heard_at = _speech_ended_at(turn)
        if isinstance(turn, AudioTurn):
            transcript = await (turn.early_decode or self._decode(turn.pcm16, turn.sample_rate))
            if not transcript.text:
                logger.info("call %s: utterance of %.1fs not used (%s)", mask_reference(self.conversation_id),
                            transcript.seconds, transcript.rejected)
                if self._withheld is not None:
                    await self._release_withheld()  # a cough, not words: the reply held back still answers them
                elif transcript.rejected != NO_SPEECH and not self._ending:
                    await self._say([notice(self._language, "not_understood")], heard_at, turn)  # not understood
                return
            text = transcript.text
        elif isinstance(turn, TextTurn):
            text = turn.text
        else:
            text = "1" if turn.yes else "2"
        if self._ending:
            return
        await self._drop_withheld()  # the caller said something new: the reply to what they said before is moot
        self._choices = ()
        await self._send(BorrowerText(text))
        try:
            result = await self._answer(turn, text, transcript)
        except RedisError:
            # Storage down: the caller hears that their words did not get through, and the line stays up.
            logger.error("call %s: storage unavailable", mask_reference(self.conversation_id))
            metrics.count_error("storage_unavailable")
            result = self._services.conversations.faults.unavailable()
        if result is None:
            return
        if not result.fault:  # a fault reply (storage down) says nothing about who is on the line
            self._verified = result.identity_verified
        await self._speak_replies(result, heard_at, turn)
        if result.ended:
            await self._end_call("conversation_ended")
        elif result.queued_for_person and self._services.handover is not None and not self._handing_over:
            self._handing_over = True  # once per call: a transfer ends it, a callback is offered once
            self._spawn(self._hand_over(), "handover")

    async def _answer(self, turn: Turn, text: str, transcript: Transcript | None) -> Any:
        """The dialogue's reply to the turn; None when the call answered it itself (a number read back, or the
        caller's no to one). A held number goes to the dialogue only on the caller's yes; anything else they say
        instead is a turn of its own."""
        conversations = self._services.conversations
        held, self._held = self._held, None
        if held is not None:
            answer = turn.yes if isinstance(turn, KeyedAnswer) else (
                confirmation_answer(text) if isinstance(turn, AudioTurn) else None)
            if answer is not None:
                await conversations.note_borrower_words(self.conversation_id, text)
                if answer:
                    return await conversations.handle_recorded(self.conversation_id, held.text)
                await self._say([notice(self._language, "say_again")], _speech_ended_at(turn), turn)
                return None
        if isinstance(turn, KeyedAnswer):
            return None  # a late key after the question was settled
        values = heard_values(text) if transcript is not None else None
        if values is not None and self._needs_confirmation(transcript, values):
            recorded = await conversations.note_borrower_words(self.conversation_id, text)
            self._held = HeldTurn(recorded, values)
            await self._say([notice(self._language, "confirm_heard", heard="、".join(values.said))],
                            _speech_ended_at(turn), turn)
            return None
        return await conversations.handle(self.conversation_id, text)

    def _needs_confirmation(self, transcript: Transcript, values: HeardValues) -> bool:
        """After verification (before it, no number is acted on, and none may be said back to whoever answered): a
        number heard with low confidence, or an instalment count the policy never offers; never distress, which
        must reach the dialogue at once."""
        if not self._verified or not values.said or detect_distress(transcript.text) is not None:
            return False
        lengths = self._services.plan_lengths
        return (transcript.confidence < self._settings.confirm_values_below_confidence
                or any(count not in lengths for count in values.periods if lengths))

    async def _speak_replies(self, result: Any, heard_at: float | None = None, turn: Turn | None = None) -> None:
        """The dialogue's reply (to `turn`, if it answers one); an ending or a handover is said whatever came after."""
        texts = [message.text for message in result.messages]
        # The bot answers in the conversation's language: a borrower who switched to English is heard in English.
        self._language = written_language("".join(texts)) or self._language
        if not texts:
            return
        choices = _keyed_choices(result.messages)
        if turn is None or result.ended or result.queued_for_person:
            self._choices = choices
            await self._speech.put((texts, heard_at))
        else:
            await self._reply_to(turn, texts, heard_at, choices)

    async def _reply_to(self, turn: Turn, texts: list[str], heard_at: float | None,
                        choices: tuple[str, ...] | None = None) -> None:
        """Words answering `turn`, all through the egress already. If the caller has started speaking again since
        the turn, none of them has been played: they are held back, not started and then cut. `choices` (None:
        unchanged) are what keys 1, 2, … answer."""
        if self._speeches > turn.speeches_before:
            logger.info("call %s: reply held back, the caller spoke again", mask_reference(self.conversation_id))
            await self._drop_withheld()  # an older held-back reply: superseded twice over
            self._withheld = Withheld(texts, choices)
            return
        if choices is not None:
            self._choices = choices
        await self._speech.put((texts, heard_at))

    async def _release_withheld(self) -> None:
        """The speech that held the reply back was not words; if nothing newer is on its way, the reply is said."""
        if self._turns.empty() and not self._detector.in_speech and self._withheld is not None:
            withheld, self._withheld = self._withheld, None
            if withheld.choices is not None:
                self._choices = withheld.choices
            await self._speech.put((withheld.texts, None))

    async def _drop_withheld(self) -> None:
        """A held-back reply will never be said: the transcript and the tracker note it was not heard (it is in
        them as sent, since the egress records words before they are spoken); a number it read back is no longer
        waiting for a yes."""
        withheld, self._withheld = self._withheld, None
        if withheld is None:
            return
        self._held = None
        await self._record_interruptions([Interrupted(text, "") for text in withheld.texts])

    async def _hear_pushes(self) -> None:
        """Words published for this conversation outside a turn are spoken as well: the reply to a turn that had
        the fault reply, an agent's words, a callback offer. Each passed the egress before it was published.
        The push seam may fail (Redis down); the call goes on and listens again when it is back."""
        while True:
            subscription = None
            try:
                subscription = await self._services.pushes.subscribe(self.conversation_id)
                while True:
                    _, message = await subscription.get()
                    if message.get("text"):
                        await self._speech.put(([message["text"]], None))
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as error:  # only pushes are lost while it lasts, never the call
                logger.warning("call %s: pushes unavailable (%s); listening again shortly",
                               mask_reference(self.conversation_id), type(error).__name__)
            finally:
                if subscription is not None:
                    with contextlib.suppress(Exception):
                        await subscription.aclose()
            await asyncio.sleep(PUSH_RETRY_SECONDS)

    # ---- speaking ---------------------------------------------------------------------------------

    def _bot_audible(self) -> bool:
        return self._speaking or self._playback.playing or not self._speech.empty()

    async def _speaker_loop(self) -> None:
        while True:
            texts, heard_at = await self._speech.get()
            self._speaking = True
            self._awaited = awaited_answer(texts[-1])  # an answer may come as soon as the question starts
            unstarted = self._unstarted = list(texts)
            try:
                for text in texts:
                    unstarted.pop(0)
                    await self._send(BotText(text))
                    reply, offset = Reply(text), 0
                    language = written_language(text) or self._language
                    # Sentence by sentence: each its own utterance and mark, so a cut is known to the sentence and
                    # nothing after the sentence playing is synthesized before it is needed.
                    for sentence in split_sentences(text):
                        await self._speak(self._playback.begin(sentence, reply, offset), language, heard_at)
                        offset += len(sentence)
                        heard_at = None  # the reply's first audio is its first sentence's
            finally:
                self._speaking = False
                if self._unstarted is unstarted:  # not a newer speaker's (a barge-in starts one)
                    self._unstarted = []

    async def _speak(self, utterance: Utterance, language: str, heard_at: float | None = None) -> None:
        """Streams one sentence of an egress-approved reply as 20 ms frames, then a mark to learn when it has
        played. `heard_at`: when the caller stopped talking, if this answers them (measured to its first frame)."""
        text = utterance.text
        tts = self._services.tts
        resampler = StreamResampler(tts.sample_rate, self._rate)
        frame_bytes = self._rate * FRAME_MS // 1000 * 2
        pending = b""
        channel = metrics.bounded(self._channel, metrics.CHANNELS)
        asked: float | None = time.perf_counter()
        async for chunk in tts.synthesize(text, language):
            if asked is not None:
                metrics.TTS_SECONDS.labels(channel=channel).observe(time.perf_counter() - asked)
                asked = None
            pending += resampler.feed(chunk)
            if heard_at is not None and len(pending) >= frame_bytes:
                metrics.REPLY_AUDIO_SECONDS.labels(channel=channel).observe(time.monotonic() - heard_at)
                heard_at = None
            pending = await self._send_whole_frames(utterance, pending, frame_bytes)
        pending += resampler.feed(b"", last=True)
        if len(pending) % frame_bytes:
            pending += bytes(frame_bytes - len(pending) % frame_bytes)
        await self._send_whole_frames(utterance, pending, frame_bytes)
        self._playback.finished_sending(utterance)
        await self._send(OutputMark(utterance.mark))

    async def _send_whole_frames(self, utterance: Utterance, pcm: bytes, frame_bytes: int) -> bytes:
        usable = len(pcm) - len(pcm) % frame_bytes
        for offset in range(0, usable, frame_bytes):
            await self._send(OutputAudio(pcm[offset:offset + frame_bytes]))
            if self._recording is not None:
                self._recording.said(pcm[offset:offset + frame_bytes])
            wait = self._playback.sent(utterance, FRAME_MS / 1000)
            if wait > 0:
                await asyncio.sleep(wait)
        return pcm[usable:]

    async def _barge_in(self) -> None:
        """The borrower talks over the bot: stop the audio, drop what was not said, note what was heard.

        Runs on the reader, which must never wait for the carrier to take our audio (a peer slow to read would
        stop its own audio being heard): the speaker is cancelled first, which frees the connection, and the
        clear is sent from a task of its own, ahead of anything the new speaker says (the send lock is FIFO)."""
        # Messages after the one being cut, in its batch and queued behind it: none of them was heard.
        unstarted = [Interrupted(text, "") for text in self._unstarted]
        self._unstarted = []
        while not self._speech.empty():
            texts, _ = self._speech.get_nowait()
            unstarted += [Interrupted(text, "") for text in texts]
        if self._speaker is not None:
            self._speaker.cancel()
        self._spawn(self._send(ClearPlayback()), "clear")
        if self._recording is not None:
            self._recording.cleared()
        self._speaking = False
        self._speaker = self._spawn(self._speaker_loop(), "speaker")
        interrupted = self._playback.interrupt() + unstarted
        logger.info("call %s: barge-in, %d reply(s) cut", mask_reference(self.conversation_id), len(interrupted))
        self._spawn(self._record_interruptions(interrupted), "interruption")

    async def _record_interruptions(self, interrupted: list[Interrupted]) -> None:
        for utterance in interrupted:
            await self._services.conversations.record_interruption(
                self.conversation_id, utterance.text, utterance.heard_text)

    # ---- silence and ending -----------------------------------------------------------------------

    async def _watchdog(self) -> None:
        """Re-prompts a silent line, and after repeated silence says goodbye and hangs up."""
        while not self._ending:
            await asyncio.sleep(WATCHDOG_TICK_SECONDS)
            now = time.monotonic()
            busy = (self._detector.in_speech or self._turn_in_progress or not self._turns.empty()
                    or self._bot_audible())
            if busy:
                self._idle_since = now
                continue
            if now - self._idle_since < self._settings.reprompt_after_silence_seconds:
                continue
            self._idle_since = now
            if self._silent_reprompts < self._settings.max_silent_reprompts:
                self._silent_reprompts += 1
                await self._say([notice(self._language, "reprompt")])
            else:
                await self._say([notice(self._language, "silence_goodbye")])
                await self._end_call("silence")

    async def _say(self, texts: list[str], heard_at: float | None = None, turn: Turn | None = None) -> None:
        """The gateway's own words, through the egress. `heard_at`: when the caller stopped talking, if these words
        answer them (`turn`)."""
        messages = await self._services.conversations.say(self.conversation_id, texts)
        said = [message.text for message in messages]
        if not said:  # nothing passed (a conversation already gone): nothing to play, and no question now awaited
            return
        if turn is None:
            await self._speech.put((said, heard_at))
        else:
            await self._reply_to(turn, said, heard_at)

    async def _end_call(self, reason: str) -> None:
        """Lets the last words play (the carrier returns their mark), then hangs up."""
        if self._ending:
            return
        self._ending = True
        await self._until_played()
        logger.info("call %s: ending (%s)", mask_reference(self.conversation_id), reason)
        await self._send(CallEnding(reason))
        await self._hangup(reason)

    async def _until_played(self) -> None:
        deadline = time.monotonic() + HANGUP_WAIT_SECONDS
        while self._bot_audible() and time.monotonic() < deadline:
            await asyncio.sleep(WATCHDOG_TICK_SECONDS)

    async def _hand_over(self) -> None:
        """The turn queued the caller for a person: once its words (the wait notice) have played, the carrier
        transfers the call (bot.channels.call_transfer), which ends this stream; if it cannot, the caller hears
        when they will be called back (pushed, so spoken like an agent's words)."""
        await self._until_played()
        # Shielded: the carrier may end this stream (and so cancel the call's tasks) before it answers the update,
        # and the transfer must still be recorded.
        handing = _outliving_the_call(self._services.handover.hand_over(
            self.conversation_id, self._carrier_call_id, self._announce))
        try:
            transferred = await asyncio.shield(handing)
        except Exception:  # noqa: BLE001 - storage down (logged): the caller stays queued on the line, the call goes on
            return
        if not transferred:
            return
        self._ending = True  # nothing more is said or heard: the carrier is connecting the caller to a person
        await asyncio.sleep(TRANSFER_STOP_WAIT_SECONDS)
        await self._send(CallEnding("transferred"))
        await self._hangup("transferred")

    async def _announce(self, text: str) -> None:
        await self._say([text])
        await self._until_played()


_DETACHED: set[asyncio.Task] = set()  # tasks that finish after their call closed: kept until done


def _outliving_the_call(coroutine: Awaitable[Any]) -> asyncio.Task:
    task = asyncio.ensure_future(coroutine)
    _DETACHED.add(task)
    task.add_done_callback(_DETACHED.discard)
    task.add_done_callback(_log_failure)
    return task


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("handover failed: %s", type(task.exception()).__name__, exc_info=task.exception())


def _keyed_choices(messages: list[Any]) -> tuple[str, ...]:
    """What keys 1, 2, … answer: the buttons of the reply's last message (the question it ends on), each the words
    it stands for (its payload). The dialogue adds them on phone calls to a question it asks the caller to confirm,
    and says which key is which in the message itself (actions.replies.keyed_choices)."""
    if not messages:
        return ()
    buttons = getattr(messages[-1], "buttons", None) or []
    payloads = tuple(button.get("payload") if isinstance(button, dict) else None for button in buttons)
    return payloads if all(isinstance(payload, str) and payload.strip() for payload in payloads) else ()


def _speech_ended_at(turn: Turn) -> float | None:
    """When the caller stopped talking, for a spoken turn (keyed digits are answered too, but are not speech)."""
    return turn.speech_ended_at if isinstance(turn, AudioTurn) else None
