"""The call recorder (voice.recording) on synthetic frames with a stepped clock, decoded back with PyAV; and the
recordings' keeping (bot.recordings): the file, the ledger row, the hash in the audit chain, playback logs, purge."""
from __future__ import annotations

import asyncio
import hashlib
import io
from datetime import UTC, datetime, timedelta

import av
import numpy as np
import pytest

from bot.audit import AuditTrail
from bot.audit_seal import AnchorFile
from bot.recording_store import FileRecordingStore, recording_key
from bot.recordings import FINISHED_HASH, CallRecordings
from ledger.models import AuditRecord
from ledger.recordings import RecordingBook
from voice.recording import CallRecorder
from tests.unit.test_ledger_repository import session_factory  # noqa: F401

RATE = 8000
FRAME = RATE // 50  # 20 ms
KEY = b"k" * 32


class SteppedClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def tone(seconds: float, hertz: float = 440.0, amplitude: int = 8000) -> bytes:
    t = np.arange(round(seconds * RATE)) / RATE
    return (np.sin(2 * np.pi * hertz * t) * amplitude).astype("<i2").tobytes()


def silence(seconds: float) -> bytes:
    return bytes(round(seconds * RATE) * 2)


def decoded(data: bytes) -> tuple[np.ndarray, int]:
    """(channels × samples as float in [-1, 1], sample rate) of an Ogg/Opus file."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "opus"
        frames = [frame.to_ndarray() for frame in container.decode(stream)]
        return np.concatenate(frames, axis=1), frames and container.streams.audio[0].rate


def window_rms(samples: np.ndarray, rate: int, start: float, end: float) -> float:
    part = samples[round(start * rate):round(end * rate)]
    return float(np.sqrt(np.mean(part ** 2))) if part.size else 0.0


def feed_borrower(recorder: CallRecorder, clock: SteppedClock, audio: bytes, during=None) -> None:
    """The line's inbound frames in real time; `during(t)` runs before each frame at call time t."""
    for offset in range(0, len(audio), FRAME * 2):
        if during is not None:
            during(clock.now - 100.0)
        recorder.heard(audio[offset:offset + FRAME * 2])
        clock.now += FRAME / RATE


def test_both_sides_land_on_their_channel_where_they_were_heard_and_played():
    sink, clock = io.BytesIO(), SteppedClock()
    recorder = CallRecorder(sink, RATE, clock)
    bot_reply = tone(1.0, 300)

    def bot_speaks(t: float) -> None:
        if abs(t - 3.0) < 1e-6:  # the speaker sends a second of audio at once; the line plays it from now
            for offset in range(0, len(bot_reply), FRAME * 2):
                recorder.said(bot_reply[offset:offset + FRAME * 2])

    feed_borrower(recorder, clock, silence(1.0) + tone(1.0) + silence(3.0), bot_speaks)
    audio = recorder.finish()
    assert audio.seconds == pytest.approx(5.0, abs=0.05)
    samples, rate = decoded(sink.getvalue())
    assert samples.shape[0] == 2
    borrower, bot = samples
    assert window_rms(borrower, rate, 1.1, 1.9) > 0.1 and window_rms(bot, rate, 1.1, 1.9) < 0.01
    assert window_rms(bot, rate, 3.1, 3.9) > 0.1 and window_rms(borrower, rate, 3.1, 3.9) < 0.01
    assert window_rms(borrower, rate, 0.1, 0.9) < 0.01 and window_rms(bot, rate, 4.2, 4.9) < 0.01


def test_audio_cleared_on_barge_in_is_recorded_only_as_far_as_the_line_played_it():
    sink, clock = io.BytesIO(), SteppedClock()
    recorder = CallRecorder(sink, RATE, clock)
    queued = tone(3.0, 300)

    def bot_then_barge_in(t: float) -> None:
        if abs(t - 1.0) < 1e-6:
            for offset in range(0, len(queued), FRAME * 2):
                recorder.said(queued[offset:offset + FRAME * 2])
        if abs(t - 2.0) < 1e-6:
            recorder.cleared()

    feed_borrower(recorder, clock, silence(1.5) + tone(1.5) + silence(2.0), bot_then_barge_in)
    recorder.finish()
    (borrower, bot), rate = decoded(sink.getvalue())
    assert window_rms(bot, rate, 1.1, 1.9) > 0.1
    assert window_rms(bot, rate, 2.1, 4.9) < 0.01  # cleared: never played
    assert window_rms(borrower, rate, 1.6, 2.9) > 0.1


def test_a_long_call_holds_only_seconds_of_audio_unencoded():
    sink, clock = io.BytesIO(), SteppedClock()
    recorder = CallRecorder(sink, RATE, clock)
    feed_borrower(recorder, clock, tone(0.02) * 3000)  # a minute
    assert len(recorder._pending) <= 3 * RATE  # the jitter allowance and one flush's worth, not the call
    assert recorder.finish().seconds == pytest.approx(60.0, abs=0.05)


def test_a_long_gap_in_the_borrowers_frames_is_silence_on_the_timeline():
    sink, clock = io.BytesIO(), SteppedClock()
    recorder = CallRecorder(sink, RATE, clock)
    feed_borrower(recorder, clock, silence(1.0))
    clock.now += 12.0  # the browser sent nothing for twelve seconds
    feed_borrower(recorder, clock, tone(1.0))
    assert recorder.finish().seconds == pytest.approx(14.0, abs=0.05)
    (borrower, _), rate = decoded(sink.getvalue())
    assert window_rms(borrower, rate, 1.1, 12.9) < 0.01 and window_rms(borrower, rate, 13.1, 13.9) > 0.1


def test_frames_that_queued_while_the_call_opened_keep_their_place_beside_the_bot():
    """The conversation opens (two seconds) before any frame is read; they then arrive at once. The borrower spoke in
    the third second, just as the bot's opening started; both must be there on the recording."""
    sink, clock = io.BytesIO(), SteppedClock()
    recorder = CallRecorder(sink, RATE, clock, started=clock.now)
    clock.now += 2.0
    queued = silence(2.0) + tone(1.0)
    for offset in range(0, 2 * RATE * 2, FRAME * 2):  # the backlog of two seconds, read in a burst
        recorder.heard(queued[offset:offset + FRAME * 2])
    opening = tone(1.0, 300)

    def bot_speaks(t: float) -> None:
        if abs(t - 2.0) < 1e-6:
            for offset in range(0, len(opening), FRAME * 2):
                recorder.said(opening[offset:offset + FRAME * 2])

    feed_borrower(recorder, clock, queued[2 * RATE * 2:] + silence(1.0), bot_speaks)
    recorder.finish()
    (borrower, bot), rate = decoded(sink.getvalue())
    assert window_rms(borrower, rate, 0.1, 1.9) < 0.01 and window_rms(borrower, rate, 2.1, 2.9) > 0.1
    assert window_rms(bot, rate, 2.1, 2.9) > 0.1 and window_rms(bot, rate, 0.1, 1.9) < 0.01


@pytest.fixture
def recordings(session_factory, tmp_path):  # noqa: F811
    trail = AuditTrail(session_factory, KEY, AnchorFile(tmp_path / "audit.anchor", KEY))
    return CallRecordings(FileRecordingStore(tmp_path / "recordings"), RecordingBook(session_factory), trail, 30)


def test_a_finished_recording_is_kept_with_its_hash_in_the_audit_chain_then_purged(recordings, session_factory,
                                                                                   tmp_path):  # noqa: F811
    recording = recordings.start("conversation-1", "B000001", "phone", RATE)
    recording.heard(tone(0.5))
    recording.said(tone(0.5, 300))
    kept = asyncio.run(recording.finish())
    path = tmp_path / "recordings" / kept.key
    assert kept.key == recording_key("conversation-1", kept.started_at.year, kept.started_at.month, "ogg")
    assert path.stat().st_mode & 0o777 == 0o600
    assert kept.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() and kept.size_bytes == path.stat().st_size
    assert (kept.channels, kept.codec, kept.borrower_id) == (2, "opus", "B000001")
    assert kept.retention_until - kept.started_at == timedelta(days=30)
    with session_factory() as session:
        audited = [row.text for row in session.query(AuditRecord).filter_by(conversation_id="conversation-1",
                                                                            speaker="system")]
    assert [FINISHED_HASH.match(text).group(1) for text in audited] == [kept.sha256]

    recordings.log_playback(kept, "reviewer1", "0-99/" + str(kept.size_bytes))
    assert [(viewer, at.tzinfo is not None) for viewer, _, at in recordings.book.playbacks_of(kept.recording_id)] \
        == [("reviewer1", True)]

    assert recordings.purge_expired(kept.retention_until - timedelta(seconds=1)) == 0
    assert recordings.purge_expired(kept.retention_until + timedelta(seconds=1)) == 1
    assert not path.exists() and recordings.book.get(kept.recording_id) is None
    assert recordings._audit.verify().ok


def test_a_recording_that_cannot_be_written_leaves_the_call_alone(recordings, tmp_path):
    first = recordings.start("conversation-2", None, "phone", RATE)
    assert recordings.start("conversation-2", None, "phone", RATE) is None  # a file is never overwritten
    first._sink.close()  # as a full disk would: the next write fails
    first.heard(tone(2.0))
    first.said(tone(2.0))
    assert asyncio.run(first.finish()) is None


def test_timestamped_frames_land_where_the_carrier_says_and_frames_never_sent_are_silence():
    """A line that fell behind sent no frames for a second (its timestamps skip it): what follows stays in place."""
    sink, clock = io.BytesIO(), SteppedClock()
    recorder = CallRecorder(sink, RATE, clock)
    audio = silence(1.0) + silence(1.0) + tone(1.0)
    for index, offset in enumerate(range(0, len(audio), FRAME * 2)):
        if not 50 <= index < 100:  # the second second was never sent
            recorder.heard(audio[offset:offset + FRAME * 2], stream_ms=index * 20)
        clock.now += FRAME / RATE
    assert recorder.finish().seconds == pytest.approx(3.0, abs=0.05)
    (borrower, _), rate = decoded(sink.getvalue())
    assert window_rms(borrower, rate, 0.1, 1.9) < 0.01 and window_rms(borrower, rate, 2.1, 2.9) > 0.1


def test_timestamps_that_stand_still_are_not_believed():
    sink, clock = io.BytesIO(), SteppedClock()
    recorder = CallRecorder(sink, RATE, clock)
    audio = tone(1.0) + silence(1.0)
    for offset in range(0, len(audio), FRAME * 2):
        recorder.heard(audio[offset:offset + FRAME * 2], stream_ms=0)
        clock.now += FRAME / RATE
    assert recorder.finish().seconds == pytest.approx(2.0, abs=0.05)
    (borrower, _), rate = decoded(sink.getvalue())
    assert window_rms(borrower, rate, 0.1, 0.9) > 0.1 and window_rms(borrower, rate, 1.1, 1.9) < 0.01
