"""Call recordings in the console: /api/console/recordings/{id}/audio streams one to a reviewer or a supervisor
(agents get 403), from the recording store through this authenticated endpoint only, never a static path. Range
requests are answered (206) so the audio element can seek. Every request that returns audio is logged first, in the
ledger and the audit chain: who, when, which recording, which bytes.
"""
from __future__ import annotations

import asyncio
import re
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import iterate_in_threadpool

from bot.console.agents import Agent
from bot.console.auth import current_reviewer
from bot.dependencies import services_of
from ledger.recordings import RecordingView

SINGLE_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def recording_json(recording: RecordingView | None) -> dict[str, Any] | None:
    """What the review page and the handoff console show of a conversation's recording, and where to play it."""
    if recording is None:
        return None
    return {
        "recording_id": recording.recording_id, "audio_url": f"/api/console/recordings/{recording.recording_id}/audio",
        "media_type": recording.media_type, "codec": recording.codec, "channels": recording.channels,
        "duration_seconds": recording.duration_seconds, "size_bytes": recording.size_bytes,
        "sha256": recording.sha256, "started_at": recording.started_at.isoformat(),
        "retention_until": recording.retention_until.isoformat(),
    }


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) of a single-range request (RFC 9110 14.1.2); None: the whole file. Several ranges, or a unit
    other than bytes, are answered with the whole file (the RFC lets a server ignore Range). Raises ValueError for
    a range outside the file (416)."""
    match = SINGLE_RANGE.match(header.strip()) if header else None
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        count = int(last)
        if count == 0 or size == 0:
            raise ValueError("empty suffix range")
        return max(size - count, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise ValueError("range not satisfiable")
    return start, end


def recordings_router() -> APIRouter:
    router = APIRouter()

    @router.get("/api/console/recordings/{recording_id}/audio", response_model=None)
    async def audio(request: Request, recording_id: int = PathParam(ge=1, le=2**62),
                    listener: Agent = Depends(current_reviewer)) -> Response:
        recordings = services_of(request).recordings
        recording = await asyncio.to_thread(recordings.book.get, recording_id)
        if recording is None:
            raise HTTPException(status_code=404, detail="not_found")
        try:
            size = await asyncio.to_thread(recordings.store.size, recording.key)
        except FileNotFoundError:
            raise HTTPException(status_code=404, detail="recording_file_missing") from None
        try:
            wanted = byte_range(request.headers.get("range"), size)
        except ValueError:
            return Response(status_code=416, headers={"Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes"})
        first, last = wanted if wanted is not None else (0, size - 1)
        # Logged before a byte leaves: nothing of a recording is heard without a record of who asked.
        await asyncio.to_thread(recordings.log_playback, recording, listener.name, f"{first}-{last}/{size}")
        headers = {"Accept-Ranges": "bytes", "Content-Length": str(last - first + 1)}
        if wanted is not None:
            headers["Content-Range"] = f"bytes {first}-{last}/{size}"
        chunks = recordings.store.read(recording.key, first, last - first + 1)
        return StreamingResponse(iterate_in_threadpool(chunks), status_code=206 if wanted is not None else 200,
                                 media_type=recording.media_type, headers=headers)

    return router
