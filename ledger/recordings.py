"""Call recordings in the ledger: one row per recorded call (where, what, its hash, until when it is kept), and
every console playback of one (who, when, which bytes), like transcript_views for transcripts."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from ledger.models import Recording, RecordingPlayback


@dataclass(frozen=True)
class NewRecording:
    conversation_id: str
    borrower_id: str | None
    channel: str
    store: str
    key: str
    codec: str
    media_type: str
    channels: int
    sample_rate: int
    duration_seconds: float
    size_bytes: int
    sha256: str
    started_at: datetime
    ended_at: datetime
    retention_until: datetime


@dataclass(frozen=True)
class RecordingView(NewRecording):
    recording_id: int


class RecordingBook:
    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._sessions = session_factory

    def add(self, recording: NewRecording) -> RecordingView:
        with self._sessions.begin() as session:
            row = Recording(**recording.__dict__)
            session.add(row)
            session.flush()
            return _view(row)

    def get(self, recording_id: int) -> RecordingView | None:
        with self._sessions() as session:
            row = session.get(Recording, recording_id)
            return _view(row) if row is not None else None

    def for_conversation(self, conversation_id: str) -> RecordingView | None:
        with self._sessions() as session:
            row = session.scalars(select(Recording).where(Recording.conversation_id == conversation_id)).first()
            return _view(row) if row is not None else None

    def log_playback(self, recording: RecordingView, viewer: str, byte_range: str, at: datetime) -> None:
        with self._sessions.begin() as session:
            session.add(RecordingPlayback(recording_id=recording.recording_id, conversation_id=recording.conversation_id,
                                          viewer=viewer, byte_range=byte_range, played_at=at))

    def playbacks_of(self, recording_id: int) -> list[tuple[str, str, datetime]]:
        """(viewer, byte range, when), oldest first."""
        with self._sessions() as session:
            return [(viewer, byte_range, _aware(at)) for viewer, byte_range, at in session.execute(
                select(RecordingPlayback.viewer, RecordingPlayback.byte_range, RecordingPlayback.played_at)
                .where(RecordingPlayback.recording_id == recording_id).order_by(RecordingPlayback.id))]

    def expired(self, now: datetime, limit: int = 500) -> list[RecordingView]:
        with self._sessions() as session:
            return [_view(row) for row in session.scalars(
                select(Recording).where(Recording.retention_until <= now).order_by(Recording.id).limit(limit))]

    def remove(self, recording_id: int) -> None:
        with self._sessions.begin() as session:
            session.execute(delete(Recording).where(Recording.id == recording_id))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _view(row: Recording) -> RecordingView:
    return RecordingView(
        recording_id=row.id, conversation_id=row.conversation_id, borrower_id=row.borrower_id, channel=row.channel,
        store=row.store, key=row.key, codec=row.codec, media_type=row.media_type, channels=row.channels,
        sample_rate=row.sample_rate, duration_seconds=row.duration_seconds, size_bytes=row.size_bytes,
        sha256=row.sha256, started_at=_aware(row.started_at), ended_at=_aware(row.ended_at),
        retention_until=_aware(row.retention_until))
