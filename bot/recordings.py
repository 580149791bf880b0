"""Every voice call recorded (voice.recording), kept (bot.recording_store), listed in the ledger (ledger.recordings) and
vouched for by the audit chain: when the call ends, the file's SHA-256 is appended to the chain, so a recording
changed afterwards no longer matches. Kept until its retention date (COLLECTIONS_RECORDINGS_RETENTION_DAYS, 3 years
by default like the audit), then deleted with its row by `python -m bot.audit purge`.

A recording that fails (a full disk) stops, is logged and counted; the call itself goes on.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.audit import AuditTrail
from bot.recording_store import FileRecordingStore, RecordingStore, recording_key
from configuration.settings import Settings
from ledger.models import utc_now
from ledger.recordings import NewRecording, RecordingBook, RecordingView
from ledger.references import mask_reference
from monitoring import metrics
from voice.recording import CODEC, MEDIA_TYPE, CallRecorder

logger = logging.getLogger("bot.recordings")

EXTENSION = "ogg"
CHANNELS = 2  # left the borrower, right the bot
AUDIT_CHANNEL = "console"  # the audit's channel of a playback
# The audit's words for a finished recording; tests and auditors read the hash back from it.
FINISHED_TEXT = "call recording {key}: sha256 {sha256}, {seconds:.1f} s, {size} bytes, {codec}"
FINISHED_HASH = re.compile(r"^call recording \S+: sha256 ([0-9a-f]{64}),")


class CallRecordings:
    """Starts a recording for each call and keeps it when the call ends."""

    def __init__(self, store: RecordingStore, book: RecordingBook, audit: AuditTrail, retention_days: int,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.store = store
        self.book = book
        self._audit = audit
        self._retention = timedelta(days=retention_days)
        self._clock = clock

    def start(self, conversation_id: str, borrower_id: str | None, channel: str, sample_rate: int,
              line_opened: float | None = None) -> "CallRecording | None":
        """`line_opened`: time.monotonic() when the call's audio began (before its conversation was opened).
        None (logged, counted) when the recording cannot start: the call goes on unrecorded."""
        try:
            return CallRecording(self, conversation_id, borrower_id, channel, sample_rate, line_opened)
        except Exception as error:  # noqa: BLE001 — e.g. the directory not writable
            logger.error("call %s: recording not started: %s", mask_reference(conversation_id), type(error).__name__,
                         exc_info=error)
            metrics.count_error("recording_failed")
            return None

    def _keep(self, recording: "CallRecording", seconds: float) -> RecordingView:
        """The finished file's row and its hash in the audit chain (runs off the event loop)."""
        digest, size = hashlib.sha256(), 0
        for chunk in self.store.read(recording.key):
            digest.update(chunk)
            size += len(chunk)
        sha256 = digest.hexdigest()
        ended = self._clock()
        view = self.book.add(NewRecording(
            conversation_id=recording.conversation_id, borrower_id=recording.borrower_id, channel=recording.channel,
            store=self.store.location, key=recording.key, codec=CODEC, media_type=MEDIA_TYPE, channels=CHANNELS,
            sample_rate=recording.sample_rate, duration_seconds=round(seconds, 3), size_bytes=size, sha256=sha256,
            started_at=recording.started_at, ended_at=ended, retention_until=recording.started_at + self._retention))
        self._audit.append(recording.conversation_id, recording.borrower_id, recording.channel, "system",
                           FINISHED_TEXT.format(key=recording.key, sha256=sha256, seconds=seconds, size=size,
                                                codec=CODEC), at=ended)
        return view

    def log_playback(self, recording: RecordingView, viewer: str, byte_range: str) -> None:
        """Who fetched which bytes of which recording, in the ledger and the audit chain, before any byte is sent."""
        at = self._clock()
        self.book.log_playback(recording, viewer, byte_range, at)
        self._audit.append(recording.conversation_id, recording.borrower_id, AUDIT_CHANNEL, "system",
                           f"recording {recording.recording_id} played by {viewer} (bytes {byte_range})", at=at)

    def purge_expired(self, now: datetime | None = None) -> int:
        """Deletes the recordings past their retention date, file first, then the row; the chain notes each."""
        now = now or self._clock()
        purged = 0
        while expired := self.book.expired(now):
            for recording in expired:
                self.store.delete(recording.key)
                self.book.remove(recording.recording_id)
                self._audit.append(recording.conversation_id, recording.borrower_id, recording.channel, "system",
                                   f"call recording {recording.key} deleted at the end of its retention", at=now)
                purged += 1
        return purged


def call_recordings(settings: Settings, session_factory, audit: AuditTrail) -> CallRecordings:
    """Recordings in the configured directory, for the gateway and for `python -m bot.audit purge`."""
    return CallRecordings(FileRecordingStore(settings.recordings.directory), RecordingBook(session_factory), audit,
                          settings.recordings.retention_days)


class CallRecording:
    """One call's recording, fed by voice.call.VoiceCall."""

    def __init__(self, recordings: CallRecordings, conversation_id: str, borrower_id: str | None, channel: str,
                 sample_rate: int, line_opened: float | None = None) -> None:
        self._recordings = recordings
        self.conversation_id = conversation_id
        self.borrower_id = borrower_id
        self.channel = channel
        self.sample_rate = sample_rate
        self.started_at = recordings._clock()
        self.key = recording_key(conversation_id, self.started_at.year, self.started_at.month, EXTENSION)
        self._sink = recordings.store.create(self.key)
        self._recorder: CallRecorder | None = CallRecorder(self._sink, sample_rate, started=line_opened)

    def heard(self, pcm16: bytes, stream_ms: int | None = None) -> None:
        self._feed(lambda recorder: recorder.heard(pcm16, stream_ms))

    def said(self, pcm16: bytes) -> None:
        self._feed(lambda recorder: recorder.said(pcm16))

    def cleared(self) -> None:
        self._feed(lambda recorder: recorder.cleared())

    async def finish(self) -> RecordingView | None:
        """Once, when the call is over: the rest encoded, the file closed, its row and hash kept."""
        recorder, self._recorder = self._recorder, None
        if recorder is None:
            return None
        try:
            return await asyncio.to_thread(self._finish, recorder)
        except Exception as error:  # noqa: BLE001 — the call is over either way; the failure is logged and counted
            self._failed(error)
            return None

    def _finish(self, recorder: CallRecorder) -> RecordingView:
        try:
            audio = recorder.finish()
        finally:
            self._sink.close()
        return self._recordings._keep(self, audio.seconds)

    def _feed(self, feed: Callable[[CallRecorder], None]) -> None:
        if self._recorder is None:
            return
        try:
            feed(self._recorder)
        except Exception as error:  # noqa: BLE001 — a recording that fails stops; the call goes on
            self._recorder = None
            self._sink.close()
            self._failed(error)

    def _failed(self, error: Exception) -> None:
        logger.error("call %s: recording failed: %s", mask_reference(self.conversation_id), type(error).__name__,
                     exc_info=error)
        metrics.count_error("recording_failed")
