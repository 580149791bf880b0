"""A supervisor closes a borrower's dispute or hardship claim (campaigns.claim_resolution): recorded in the ledger and
the audit chain, and the borrower placed in the strategy again at once.

    POST /api/console/claims/{claim_id}/resolve   {"outcome": "upheld" | "rejected" | "resolved", "note": "…"}

200 with the claim as closed; 404 `unknown_claim`; 409 `claim_closed` (someone closed it first: nothing changes);
422 for a malformed body (an outcome that does not exist, a note over 1,000 characters) or `outcome_not_allowed`
(a dispute is upheld or rejected). Agents get 403. The open claims are in the borrower's contact history
(GET /api/console/borrowers/{id}/contacts, bot.console.campaigns).
"""
from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from bot.console.agents import Agent
from bot.console.auth import current_supervisor
from bot.dependencies import services_of
from campaigns.claim_resolution import MAX_NOTE_CHARS
from ledger.errors import NotFound, PolicyViolation
from ledger.views import ClaimView


class Resolution(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["upheld", "rejected", "resolved"]
    note: str = Field(default="", max_length=MAX_NOTE_CHARS)


def claim_json(claim: ClaimView) -> dict[str, Any]:
    return {"claim_id": claim.claim_id, "kind": claim.kind, "account_id": claim.account_id,
            "status": claim.status, "created_at": claim.created_at.isoformat(), "outcome": claim.outcome,
            "resolved_by": claim.resolved_by,
            "resolved_at": claim.resolved_at.isoformat() if claim.resolved_at else None,
            "note": claim.resolution_note}


def claims_router() -> APIRouter:
    router = APIRouter()

    @router.post("/api/console/claims/{claim_id}/resolve", response_model=None)
    async def resolve(request: Request, resolution: Resolution, claim_id: int = PathParam(ge=1, le=2**62),
                      supervisor: Agent = Depends(current_supervisor)) -> JSONResponse:
        claims = services_of(request).claims
        try:
            claim = await asyncio.to_thread(claims.resolve, claim_id, resolution.outcome, supervisor.name,
                                            resolution.note)
        except NotFound:
            return JSONResponse({"error": "unknown_claim"}, status_code=404)
        except PolicyViolation as refusal:
            status = 409 if refusal.code == "claim_closed" else 422
            return JSONResponse({"error": refusal.code, "detail": refusal.message}, status_code=status)
        return JSONResponse(claim_json(claim))

    return router
