"""Checks a phone call's recording (bot.recordings) against what the test's carrier did: when the borrower spoke and
when the bot answered, measured on the test's clock from the call's start."""
from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import httpx
import numpy as np
from sqlalchemy import select, update

from bot.recordings import FINISHED_HASH
from ledger.db import make_engine, make_session_factory
from ledger.models import AuditRecord, Recording
from ledger.recordings import RecordingBook, RecordingView
from tests.e2e.console_client import PASSWORD, Console, add_console_accounts

SPOKEN_RMS = 0.008     # full scale 1.0: speech (the fixtures, the TTS) is well above it
SILENT_RMS = 0.002     # the line's silence, and a side that did not speak
MARGIN_SECONDS = 0.3   # the test's clock and the recording's start differ by the start message's trip
RECORDING_WAIT_SECONDS = 30


@dataclass
class CallTimeline:
    started: float = 0.0
    seconds: float = 0.0
    borrower_spoke: list[tuple[float, float]] = field(default_factory=list)
    bot_spoke: list[tuple[float, float]] = field(default_factory=list)  # from the question to the reply's end

    def start(self) -> None:
        self.started = time.monotonic()

    def end(self) -> None:
        self.seconds = time.monotonic() - self.started

    @contextmanager
    def borrower(self):
        begun = time.monotonic() - self.started
        yield
        self.borrower_spoke.append((begun, time.monotonic() - self.started))

    @contextmanager
    def bot(self):
        begun = time.monotonic() - self.started
        yield
        self.bot_spoke.append((begun, time.monotonic() - self.started))


def check_recording(gateway_url: str, ledger_url: str, conversation_id: str, timeline: CallTimeline) -> RecordingView:
    engine = make_engine(ledger_url)
    try:
        sessions = make_session_factory(engine)
        recording = _wait_for_recording(RecordingBook(sessions), conversation_id)
        audio = _played_in_the_console(gateway_url, ledger_url, recording)
        assert hashlib.sha256(audio).hexdigest() == recording.sha256 == _audited_hash(sessions, conversation_id)
        _check_sides(audio, recording, timeline)
        playbacks = RecordingBook(sessions).playbacks_of(recording.recording_id)
        assert [(viewer, byte_range) for viewer, byte_range, _ in playbacks] == [
            ("e2e-reviewer", f"0-{recording.size_bytes - 1}/{recording.size_bytes}"),
            ("e2e-reviewer", f"0-99/{recording.size_bytes}")]
        with sessions() as session:
            audited = session.scalars(select(AuditRecord.text).where(
                AuditRecord.conversation_id == conversation_id, AuditRecord.speaker == "system",
                AuditRecord.text.like(f"recording {recording.recording_id} played by %"))).all()
        assert [text.split(" played by ")[1].split(" ")[0] for text in audited] == ["e2e-reviewer"] * 2
        return recording
    finally:
        engine.dispose()


def purge_when_expired(ledger_url: str, audit_settings, recording_settings, recording: RecordingView) -> None:
    """The operator's purge (python -m bot.audit purge) deletes the recording, file and row, once its retention date
    has passed (moved into the past here), and leaves the audit chain verifying."""
    path = Path(recording_settings.directory) / recording.key
    assert path.exists()
    engine = make_engine(ledger_url)
    try:
        with make_session_factory(engine).begin() as session:
            session.execute(update(Recording).where(Recording.id == recording.recording_id)
                            .values(retention_until=datetime.now(UTC) - timedelta(seconds=1)))
        env = {**os.environ, "COLLECTIONS_LEDGER_DATABASE_URL": ledger_url,
               "COLLECTIONS_AUDIT_KEY_FILE": str(audit_settings.key_file),
               "COLLECTIONS_AUDIT_ANCHOR_FILE": str(audit_settings.anchor_file),
               "COLLECTIONS_RECORDINGS_DIRECTORY": str(recording_settings.directory)}
        said = {}
        for command in ("purge", "verify"):
            done = subprocess.run([sys.executable, "-m", "bot.audit", command], env=env, capture_output=True, text=True,
                                  timeout=120)
            assert done.returncode == 0, done.stdout + done.stderr
            said[command] = done.stdout
        assert "purged 1 call recordings past their retention date" in said["purge"], said["purge"]
        assert not path.exists()
        assert RecordingBook(make_session_factory(engine)).get(recording.recording_id) is None
    finally:
        engine.dispose()


def _wait_for_recording(book: RecordingBook, conversation_id: str) -> RecordingView:
    """Kept once the gateway has seen the call end (the carrier closed the stream)."""
    deadline = time.monotonic() + RECORDING_WAIT_SECONDS
    while (recording := book.for_conversation(conversation_id)) is None:
        assert time.monotonic() < deadline, "no recording was kept for the call"
        time.sleep(0.2)
    return recording


def _audited_hash(sessions, conversation_id: str) -> str:
    with sessions() as session:
        texts = session.scalars(select(AuditRecord.text).where(
            AuditRecord.conversation_id == conversation_id, AuditRecord.speaker == "system")).all()
    hashes = [match.group(1) for text in texts if (match := FINISHED_HASH.match(text))]
    assert len(hashes) == 1, texts
    return hashes[0]


def _played_in_the_console(gateway_url: str, ledger_url: str, recording: RecordingView) -> bytes:
    add_console_accounts(ledger_url)
    path = f"/api/console/recordings/{recording.recording_id}/audio"
    agent = Console(gateway_url, "e2e-agent-a", PASSWORD)
    reviewer = Console(gateway_url, "e2e-reviewer", PASSWORD)
    supervisor = Console(gateway_url, "e2e-supervisor", PASSWORD)
    try:
        shown = supervisor.view(recording.conversation_id)  # the handoff console's conversation view
        assert shown.status_code == 200 and shown.json()["recording"]["audio_url"] == path, shown.text
        assert agent.http.get(path).status_code == 403  # before anything is logged
        assert httpx.get(gateway_url + path, timeout=30).status_code == 401
        assert reviewer.http.get(f"/api/console/recordings/{recording.recording_id + 10**9}/audio").status_code == 404
        whole = reviewer.http.get(path)
        assert whole.status_code == 200 and whole.headers["content-type"] == "audio/ogg"
        assert whole.headers["accept-ranges"] == "bytes" and len(whole.content) == recording.size_bytes
        part = reviewer.http.get(path, headers={"Range": "bytes=0-99"})
        assert part.status_code == 206 and part.content == whole.content[:100]
        assert part.headers["content-range"] == f"bytes 0-99/{recording.size_bytes}"
        return whole.content
    finally:
        agent.close()
        reviewer.close()
        supervisor.close()


def _check_sides(audio: bytes, recording: RecordingView, timeline: CallTimeline) -> None:
    with av.open(io.BytesIO(audio)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "opus" and stream.codec_context.channels == 2
        rate = stream.rate
        samples = np.concatenate([frame.to_ndarray() for frame in container.decode(stream)], axis=1)
    seconds = samples.shape[1] / rate
    assert abs(seconds - timeline.seconds) < 2.0, (seconds, timeline.seconds)
    assert abs(recording.duration_seconds - seconds) < 0.2
    borrower, bot = samples

    def level(channel: np.ndarray, start: float, end: float) -> float:
        part = channel[round(start * rate):round(end * rate)]
        return float(np.sqrt(np.mean(part ** 2))) if part.size else 0.0

    def loudest_half_second(channel: np.ndarray, start: float, end: float) -> float:
        return max((level(channel, at, at + 0.5) for at in np.arange(start, end - 0.5, 0.25)), default=0.0)

    for start, end in timeline.borrower_spoke:  # the borrower spoke; the bot had finished and was quiet
        window = (start + MARGIN_SECONDS, end - MARGIN_SECONDS)
        assert level(borrower, *window) > SPOKEN_RMS, ("borrower", window, level(borrower, *window))
        assert level(bot, *window) < SILENT_RMS, ("bot during the borrower", window, level(bot, *window))
    for start, end in timeline.bot_spoke:  # the bot answered; the borrower's line was silent
        window = (start + MARGIN_SECONDS, end)
        assert loudest_half_second(bot, *window) > SPOKEN_RMS, ("bot", window)
        assert level(borrower, *window) < SILENT_RMS, ("borrower during the bot", window, level(borrower, *window))
