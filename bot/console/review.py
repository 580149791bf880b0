"""Quality review (质检) in the console: the page /console/review and /api/console/review/... for reviewers and
supervisors (agents get 403). The queue, the rules and the scores live in the ledger (ledger.quality_review).

Opening an item shows the transcript from the audit trail (what was said, what the filter blocked and why: durable,
unlike the live transcript in Redis), every reason it was chosen, the summary (from Rasa's tracker as the handoff
console builds it, else the one the action server saved at the end) and the borrower's account; each opening is
logged (who, when) before anything is returned. A score is saved once per item: a second reviewer gets 409.
"""
from __future__ import annotations

import asyncio
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from bot.console.agents import Agent
from bot.console.auth import current_reviewer
from bot.console.recordings import recording_json
from bot.console.routes import account_json  # the handoff console's account panel, shown the same way here
from bot.console.summary import summarize
from bot.dependencies import services_of
from bot.rasa_client import RasaUnavailable
from ledger.errors import NotFound
from ledger.quality_review import (
    MAX_NOTES_CHARS, AlreadyReviewed, InvalidReview, QualityReviewBook, ReviewItemView, day_start, reasons_json,
)
from ledger.references import mask_reference
from ledger.repository import Ledger
from ledger.wording import yuan

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {"review.js": "text/javascript; charset=utf-8", "review.css": "text/css; charset=utf-8"}
MAX_FILL_DAYS = 31
Mark = Literal["pass", "fail", "na"]


class Marks(BaseModel):
    model_config = ConfigDict(extra="forbid")

    identity_before_detail: Mark  # identity verified before any account detail was given
    ai_disclosed: Mark  # the borrower was told they were talking to an AI
    no_pressure: Mark  # no threats, harassment, shaming or false urgency
    correct_figures: Mark  # amounts and dates said match the ledger
    handoff_when_asked: Mark  # a person was offered when asked for


class ReviewBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    marks: Marks
    notes: str = Field(default="", max_length=MAX_NOTES_CHARS)


class FillBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_day: date
    last_day: date


def _book(request: Request) -> QualityReviewBook:
    return services_of(request).quality_review


def _item_json(item: ReviewItemView) -> dict[str, Any]:
    review = item.review
    return {
        "item_id": item.item_id, "conversation_id": item.conversation_id,
        "borrower": mask_reference(item.borrower_id) if item.borrower_id else None, "channel": item.channel,
        "agent": item.agent, "script": item.script, "day": item.day.isoformat(), "reasons": reasons_json(item.reasons),
        "sample_rate": item.sample_rate, "sample_seed": item.sample_seed, "selected_at": item.selected_at.isoformat(),
        "review": None if review is None else {
            "reviewer": review.reviewer, "marks": review.marks, "notes": review.notes,
            "reviewed_at": review.reviewed_at.isoformat(),
        },
    }


async def _summary(request: Request, conversation_id: str) -> str | None:
    try:
        tracker = await services_of(request).rasa.tracker(conversation_id)
    except RasaUnavailable:
        tracker = {}
    if tracker.get("events"):
        return summarize(tracker)
    record = await asyncio.to_thread(services_of(request).ledger.get_conversation, conversation_id)
    return record.summary if record is not None else None


def _accounts_json(ledger: Ledger, borrower_id: str) -> list[dict[str, Any]]:
    """Every account, paused or settled too (a dispute pauses one): the figures the bot may have said."""
    return [{"account_id": a.account_id, "lender": a.lender_name, "status": a.status, "balance": yuan(a.balance_cents),
             "balance_cents": a.balance_cents, "days_past_due": a.days_past_due, "due_date": a.due_date.isoformat()}
            for a in ledger.accounts_for(borrower_id)]


def review_router() -> APIRouter:
    """Registered before console_router: its /console/{asset} would otherwise answer /console/review with 404."""
    router = APIRouter()

    @router.get("/console/review", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "review.html", media_type="text/html; charset=utf-8")

    @router.get("/console/review/{asset}", include_in_schema=False)
    async def asset(asset: str) -> FileResponse:
        if asset not in ASSETS:
            raise HTTPException(status_code=404, detail="not_found")
        return FileResponse(STATIC / asset, media_type=ASSETS[asset])

    @router.get("/api/console/review/items")
    async def items(request: Request, status: Literal["pending", "reviewed", "all"] = "pending",
                    _: Agent = Depends(current_reviewer)) -> dict[str, Any]:
        found = await asyncio.to_thread(_book(request).items, None if status == "all" else status)
        return {"items": [_item_json(item) for item in found]}

    @router.post("/api/console/review/fill")
    async def fill(body: FillBody, request: Request, _: Agent = Depends(current_reviewer)) -> Any:
        """Chooses the conversations of first_day..last_day (Shanghai days, at most 31) that the rules or the sample
        pick; the campaign worker also fills the queue daily (campaigns.worker), as does `python -m bot.console
        fill-review`."""
        if not timedelta(0) <= body.last_day - body.first_day < timedelta(days=MAX_FILL_DAYS):
            return JSONResponse({"error": "bad_range", "detail": f"last_day from first_day, at most "
                                                                 f"{MAX_FILL_DAYS} days"}, status_code=422)
        added = await asyncio.to_thread(_book(request).fill_queue, day_start(body.first_day),
                                        day_start(body.last_day + timedelta(days=1)), services_of(request).clock())
        return {"added": added}

    @router.get("/api/console/review/items/{item_id}")
    async def open_item(request: Request, item_id: int = PathParam(ge=1, le=2**62),
                        reviewer: Agent = Depends(current_reviewer)) -> dict[str, Any]:
        book = _book(request)
        try:  # logged first: nothing of the transcript leaves without a record of who asked
            await asyncio.to_thread(book.log_view, item_id, reviewer.name, services_of(request).clock())
        except NotFound:
            raise HTTPException(status_code=404, detail="not_found") from None
        item = await asyncio.to_thread(book.item, item_id)
        return {
            **_item_json(item),
            "transcript": await asyncio.to_thread(book.transcript, item.conversation_id),
            "summary": await _summary(request, item.conversation_id),
            "account": await asyncio.to_thread(account_json, services_of(request).ledger, item.borrower_id)
            if item.borrower_id else None,
            "accounts": await asyncio.to_thread(_accounts_json, services_of(request).ledger, item.borrower_id)
            if item.borrower_id else [],
            "recording": recording_json(await asyncio.to_thread(
                services_of(request).recordings.book.for_conversation, item.conversation_id)),
            "views": [{"viewer": viewer, "at": at.isoformat()}
                      for viewer, at in await asyncio.to_thread(book.views_of, item_id)],
        }

    @router.post("/api/console/review/items/{item_id}/review", status_code=201)
    async def save_review(body: ReviewBody, request: Request, item_id: int = PathParam(ge=1, le=2**62),
                          reviewer: Agent = Depends(current_reviewer)) -> Any:
        try:
            saved = await asyncio.to_thread(_book(request).save_review, item_id, reviewer.name,
                                            body.marks.model_dump(), body.notes, services_of(request).clock())
        except NotFound:
            raise HTTPException(status_code=404, detail="not_found") from None
        except AlreadyReviewed as refusal:
            return JSONResponse({"error": "already_reviewed", "reviewer": refusal.reviewer}, status_code=409)
        except InvalidReview as refusal:
            return JSONResponse({"error": refusal.code, "detail": str(refusal)}, status_code=422)
        return {"item_id": item_id, "reviewer": saved.reviewer, "marks": saved.marks, "notes": saved.notes,
                "reviewed_at": saved.reviewed_at.isoformat()}

    @router.get("/api/console/review/results")
    async def results(request: Request, first_day: date = Query(), last_day: date = Query(),
                      _: Agent = Depends(current_reviewer)) -> dict[str, Any]:
        """Per day, agent and script: chosen, reviewed, failed, and pass/fail/na per checklist item."""
        rows = await asyncio.to_thread(_book(request).results, first_day, last_day)
        return {"results": [{"day": r.day.isoformat(), "agent": r.agent, "script": r.script, "chosen": r.chosen,
                             "reviewed": r.reviewed, "failed": r.failed, "marks": r.marks} for r in rows]}

    return router
