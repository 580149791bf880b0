"""The agent console's HTTP API (/api/console/...) and page (/console).

Agents see the queue, take a waiting conversation (exactly one agent wins), read its transcript, the
borrower's account and a summary built from the tracker, write to the borrower (every message through
the egress: a blocked one is shown to the agent with the rules and never sent), record a promise or
propose a plan with the ledger code the bot uses, and hand the conversation back to the bot.
Supervisors may also open and take any live conversation, and see every held one.
"""
from __future__ import annotations

import asyncio
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field

from ledger.plans import FIRST_INSTALMENT_AFTER_DAYS
from ledger.references import mask_reference
from ledger.wording import ChineseWording, spoken_date, yuan
from ledger.errors import NotFound, PolicyViolation
from ledger.repository import Ledger
from ledger.views import ReviewRequestView
from bot.console.agents import MAX_PASSWORD_CHARS, Agent
from bot.console.auth import (
    COOKIE, ConsoleSessions, SignInThrottled, current_agent, current_supervisor, request_token, signed_in,
)
from bot.console.draft_check import draft_check_router
from bot.console.recordings import recording_json
from bot.console.summary import summarize
from bot.dependencies import services_of
from bot.conversations import ConversationService, clean_borrower_text
from bot.handoff.desk import AlreadyHeld, HandoffDesk, NotWaiting
from ledger.notices import notice
from bot.handoff.queue import QueueEntry
from bot.sessions import Conversation

STATIC = Path(__file__).resolve().parent / "static"


class Login(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_CHARS)


class AgentText(BaseModel):
    text: Any  # checked by clean_borrower_text: the same limits and error codes as a borrower's message


class PromiseRequest(BaseModel):
    amount_cents: int = Field(gt=0, le=10**12)
    promised_date: date


class PlanRequest(BaseModel):
    periods: int = Field(ge=2, le=60)


def _desk(request: Request) -> HandoffDesk:
    return services_of(request).desk


def _service(request: Request) -> ConversationService:
    return services_of(request).conversations


def _ledger(request: Request) -> Ledger:
    return services_of(request).ledger


def _entry_json(entry: QueueEntry, position: int) -> dict[str, Any]:
    return {
        "conversation_id": entry.conversation_id, "borrower": mask_reference(entry.borrower_id), "channel": entry.channel,
        "reason": entry.reason, "priority": entry.priority, "position": position,
        "waited_seconds": max(0, int(time.time() - entry.enqueued_at)), "callback_offered": entry.callback_offered,
        "transferred": entry.transferred,  # a phone call the carrier took to the agent line: read its transcript
    }


async def _queue_json(desk: HandoffDesk) -> list[dict[str, Any]]:
    return [_entry_json(entry, position) for position, entry in enumerate(await desk.queue.entries(), start=1)]


async def _open_conversation(request: Request, conversation_id: str, agent: Agent) -> tuple[Conversation, str | None]:
    """The conversation if this agent may see it: held by them, waiting, or any for a supervisor."""
    conversation = await _service(request).get(conversation_id)  # UnknownConversation -> 404
    holder = await _desk(request).holder(conversation_id)
    if agent.is_supervisor or holder == agent.name:
        return conversation, holder
    if holder is None and await _desk(request).queue.position(conversation_id) is not None:
        return conversation, holder
    raise HTTPException(status_code=403, detail="not_your_conversation")


async def _held_by_me(request: Request, conversation_id: str, agent: Agent) -> Conversation:
    conversation = await _service(request).get(conversation_id)
    if await _desk(request).holder(conversation_id) != agent.name:
        raise HTTPException(status_code=409, detail="not_held_by_you")
    return conversation


def account_json(ledger: Ledger, borrower_id: str) -> dict[str, Any] | None:
    borrower = ledger.get_borrower(borrower_id)
    if borrower is None:
        return None
    account = ledger.get_primary_account(borrower_id)
    summary: dict[str, Any] = {
        "borrower": mask_reference(borrower_id), "name": f"{borrower.full_name}{borrower.honorific}",
        "id_number": "*" * 14 + borrower.id_last4, "do_not_contact": borrower.do_not_contact,
        "flags": list(ledger.active_flags(borrower_id)),
        "claims": [{"kind": c.kind, "status": c.status, "decision": c.decision, "at": c.created_at.isoformat()}
                   for c in ledger.claims_for(borrower_id)],
        "account": None, "promises": [], "plans": [],
    }
    if account is not None:
        summary["account"] = {
            "account_id": account.account_id, "lender": account.lender_name, "balance_cents": account.balance_cents,
            "balance": yuan(account.balance_cents), "days_past_due": account.days_past_due,
            "risk_tier": account.risk_tier, "status": account.status,
        }
        summary["promises"] = [
            {"amount": yuan(p.amount_cents), "amount_cents": p.amount_cents, "date": p.promised_date.isoformat(),
             "status": p.status} for p in ledger.promises_for(account.account_id)
        ]
        summary["plans"] = [
            {"plan_id": p.plan_id, "periods": p.periods, "total": yuan(p.total_cents), "status": p.status}
            for p in ledger.plans_for(account.account_id)
        ]
    return summary


def _review_request_json(request: ReviewRequestView) -> dict[str, Any]:
    return {
        "request_id": request.request_id, "conversation_id": request.conversation_id, "kind": request.kind,
        "borrower": mask_reference(request.borrower_id) if request.borrower_id else None, "channel": request.channel,
        "said": request.said, "status": request.status, "at": request.created_at.isoformat(),
        "reviewed_by": request.reviewed_by,
    }


def console_router() -> APIRouter:
    router = APIRouter()
    router.include_router(draft_check_router())  # /api/console/draft-check: advice while the agent types

    @router.get("/console", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    @router.get("/console/{asset}", include_in_schema=False)
    async def asset(asset: str) -> FileResponse:
        files = {"console.js": "text/javascript; charset=utf-8", "console.css": "text/css; charset=utf-8",
                 "session.js": "text/javascript; charset=utf-8"}
        if asset not in files:
            raise HTTPException(status_code=404, detail="not_found")
        return FileResponse(STATIC / asset, media_type=files[asset])

    @router.post("/api/console/login")
    async def login(body: Login, request: Request, response: Response) -> dict[str, Any]:
        sessions: ConsoleSessions = services_of(request).console_sessions
        # The peer, or the client a trusted proxy names (uvicorn's --forwarded-allow-ips).
        address = request.client.host if request.client else "unknown"
        try:
            agent = await sessions.sign_in(body.name, body.password, address)
        except SignInThrottled:
            raise HTTPException(status_code=429, detail="too_many_failed_sign_ins") from None
        if agent is None:
            raise HTTPException(status_code=401, detail="wrong_credentials")
        token = await sessions.open(agent)
        # Secure whenever the console is reached over HTTPS (directly, or through a trusted proxy's
        # X-Forwarded-Proto), so the cookie can never be replayed over plain HTTP.
        response.set_cookie(
            COOKIE, token, max_age=sessions.ttl_seconds, httponly=True, samesite="strict",
            secure=services_of(request).settings.console.cookie_secure or request.url.scheme == "https", path="/",
        )
        return {"name": agent.name, "role": agent.role, "token": token}

    @router.post("/api/console/logout")
    async def logout(request: Request, response: Response) -> dict[str, bool]:
        token = request_token(request)
        if token:
            await services_of(request).console_sessions.close(token)
        response.delete_cookie(COOKIE, path="/")
        return {"signed_out": True}

    @router.get("/api/console/me")
    async def me(agent: Agent = Depends(signed_in)) -> dict[str, str]:
        return {"name": agent.name, "role": agent.role}

    @router.get("/api/console/queue")
    async def queue(request: Request, agent: Agent = Depends(current_agent)) -> dict[str, Any]:
        held = await _desk(request).assignments.held()
        return {"queue": await _queue_json(_desk(request)),
                "mine": sorted(cid for cid, holder in held.items() if holder == agent.name)}

    @router.get("/api/console/live")
    async def live(request: Request, _: Agent = Depends(current_supervisor)) -> dict[str, Any]:
        held = await _desk(request).assignments.held()
        return {"queue": await _queue_json(_desk(request)),
                "held": [{"conversation_id": cid, "agent": holder} for cid, holder in sorted(held.items())]}

    @router.get("/api/console/conversations/{conversation_id}")
    async def conversation(conversation_id: str, request: Request, agent: Agent = Depends(current_agent)) -> dict[str, Any]:
        found, holder = await _open_conversation(request, conversation_id, agent)
        service = _service(request)
        tracker = await services_of(request).rasa.tracker(conversation_id)
        return {
            "conversation_id": conversation_id, "channel": found.channel, "ended": found.ended, "holder": holder,
            "transcript": await service.transcript(conversation_id),
            "account": await asyncio.to_thread(account_json, _ledger(request), found.borrower_id),
            "summary": summarize(tracker),
            "identity_verified": found.identity_verified,
            # Requests an unverified party made here: the agent who has established who they are applies them.
            "review_requests": [_review_request_json(r) for r in await asyncio.to_thread(
                _ledger(request).review_requests, None, conversation_id=conversation_id)],
            # A call's recording, once the call is over, for those who may play it (supervisors here).
            "recording": recording_json(await asyncio.to_thread(
                services_of(request).recordings.book.for_conversation, conversation_id)) if agent.may_review else None,
        }

    @router.get("/api/console/review-requests")
    async def review_requests(request: Request, _: Agent = Depends(current_supervisor)) -> dict[str, Any]:
        """Every pending request from an unverified party, ended conversations' included (supervisors)."""
        pending = await asyncio.to_thread(_ledger(request).review_requests, "pending")
        return {"review_requests": [_review_request_json(r) for r in pending]}

    @router.post("/api/console/review-requests/{request_id}/{decision}")
    async def decide_review_request(request: Request, decision: str, request_id: int = PathParam(ge=1, le=2**62),
                                    agent: Agent = Depends(current_agent)) -> Any:
        """apply (it was the borrower's: do what it asked) or dismiss; a supervisor, or the agent who holds the
        request's conversation and so has talked to the person."""
        if decision not in ("apply", "dismiss"):
            raise HTTPException(status_code=404, detail="not_found")
        ledger = _ledger(request)
        found = await asyncio.to_thread(ledger.get_review_request, request_id)
        if found is None:
            raise HTTPException(status_code=404, detail="not_found")
        if not agent.is_supervisor and await _desk(request).holder(found.conversation_id) != agent.name:
            raise HTTPException(status_code=403, detail="not_your_conversation")
        decide = ledger.apply_review_request if decision == "apply" else ledger.dismiss_review_request
        try:
            decided = await asyncio.to_thread(decide, request_id, agent.name)
        except (PolicyViolation, NotFound) as refusal:
            return JSONResponse({"error": getattr(refusal, "code", "not_found")}, status_code=409)
        return _review_request_json(decided)

    @router.post("/api/console/conversations/{conversation_id}/take")
    async def take(conversation_id: str, request: Request, agent: Agent = Depends(current_agent)) -> dict[str, Any]:
        found = await _service(request).get(conversation_id)
        if found.ended:
            raise HTTPException(status_code=409, detail="conversation_ended")
        try:
            entry = await _desk(request).take(conversation_id, agent.name, waiting_only=not agent.is_supervisor)
        except AlreadyHeld as error:
            return JSONResponse({"error": "already_taken", "holder": error.holder}, status_code=409)
        except NotWaiting:
            return JSONResponse({"error": "not_waiting"}, status_code=409)
        await _service(request).push(conversation_id, [notice(found.language, "taken")])
        return {"conversation_id": conversation_id, "holder": agent.name, "reason": entry.reason if entry else None}

    @router.post("/api/console/conversations/{conversation_id}/messages")
    async def send(conversation_id: str, body: AgentText, request: Request,
                   agent: Agent = Depends(current_agent)) -> Any:
        await _held_by_me(request, conversation_id, agent)
        text = clean_borrower_text(body.text, services_of(request).settings.gateway.max_message_chars)  # InvalidMessage -> 413/422
        message, verdict = await _service(request).push_agent_text(conversation_id, text)
        if message is None:
            return JSONResponse({
                "error": "blocked", "delivered": False, "rules": list(verdict.rules),
                "categories": list(verdict.categories),
            }, status_code=422)
        return {"delivered": True, "text": message.text}

    async def _verified_account(request: Request, conversation: Conversation):
        if not conversation.identity_verified:
            raise HTTPException(status_code=409, detail="identity_not_verified")
        account = await asyncio.to_thread(_ledger(request).get_primary_account, conversation.borrower_id)
        if account is None:
            raise HTTPException(status_code=409, detail="no_collecting_account")
        return account

    def _today(request: Request, conversation: Conversation) -> date:
        return services_of(request).clock().astimezone(ZoneInfo(conversation.timezone)).date()

    @router.post("/api/console/conversations/{conversation_id}/promise")
    async def record_promise(conversation_id: str, body: PromiseRequest, request: Request,
                             agent: Agent = Depends(current_agent)) -> Any:
        conversation = await _held_by_me(request, conversation_id, agent)
        account = await _verified_account(request, conversation)
        today = _today(request, conversation)
        try:
            promise = await asyncio.to_thread(
                _ledger(request).record_promise, account.account_id, conversation_id, body.amount_cents,
                body.promised_date, today,
            )
        except (PolicyViolation, NotFound) as refusal:
            return JSONResponse({"error": getattr(refusal, "code", "not_found"), "detail": str(refusal)}, status_code=422)
        text = f"已为您记录：{spoken_date(promise.promised_date, today)}前还款{yuan(promise.amount_cents)}。"
        message, verdict = await _service(request).push_agent_text(conversation_id, text)
        return {"promise_id": promise.promise_id, "delivered": message is not None, "text": text,
                "rules": list(verdict.rules)}

    @router.post("/api/console/conversations/{conversation_id}/plan")
    async def propose_plan(conversation_id: str, body: PlanRequest, request: Request,
                           agent: Agent = Depends(current_agent)) -> Any:
        conversation = await _held_by_me(request, conversation_id, agent)
        account = await _verified_account(request, conversation)
        today = _today(request, conversation)
        try:
            plan = await asyncio.to_thread(
                _ledger(request).propose_plan, account.account_id, conversation_id, body.periods,
                today + timedelta(days=FIRST_INSTALMENT_AFTER_DAYS),
            )
        except (PolicyViolation, NotFound) as refusal:
            return JSONResponse({"error": getattr(refusal, "code", "not_found"), "detail": str(refusal)}, status_code=422)
        text = f"可以为您申请{ChineseWording(account.currency).describe_plan(plan, today)}您同意这个方案吗？"
        message, verdict = await _service(request).push_agent_text(conversation_id, text)
        return {"plan_id": plan.plan_id, "delivered": message is not None, "text": text, "rules": list(verdict.rules)}

    @router.post("/api/console/conversations/{conversation_id}/hand-back")
    async def hand_back(conversation_id: str, request: Request, agent: Agent = Depends(current_agent)) -> Any:
        conversation = await _service(request).get(conversation_id)
        released = await _desk(request).hand_back(conversation_id, None if agent.is_supervisor else agent.name)
        if not released:
            return JSONResponse({"error": "not_held_by_you"}, status_code=409)
        await _service(request).push(conversation_id, [notice(conversation.language, "handed_back")])
        return {"conversation_id": conversation_id, "holder": None}

    return router
