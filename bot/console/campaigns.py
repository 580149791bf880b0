"""The supervisor's view of outbound campaigns: live counts, pause and resume, and one borrower's contact history.

    GET  /api/console/campaigns?hours=24            every campaign in campaigns/strategy.yml with its counts: due now
                                                     (who the worker's next tick would contact: campaigns.due_now),
                                                     and what happened to the contacts planned in the last `hours`
    POST /api/console/campaigns/{name}/pause|resume  takes effect at the worker's next contact (it checks first)
    GET  /api/console/borrowers/{id}/contacts         segment history, campaign contacts, policy decisions, claims
"""
from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi import Path as PathParam

from bot.console.agents import Agent
from bot.console.auth import current_supervisor
from bot.console.claims import claim_json
from bot.dependencies import services_of
from campaigns.tick import CALLBACK_CAMPAIGN
from ledger.references import mask_reference

BORROWER_ID = PathParam(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")


def campaigns_router() -> APIRouter:
    router = APIRouter()

    @router.get("/api/console/campaigns")
    async def campaigns(request: Request, hours: int = Query(24, ge=1, le=24 * 31),
                        _: Agent = Depends(current_supervisor)) -> dict[str, Any]:
        services = services_of(request)
        since = services.clock() - timedelta(hours=hours)
        records, strategy = services.campaign_records, services.strategy
        counts, paused, placed, due = await asyncio.gather(
            asyncio.to_thread(records.campaign_counts, since), asyncio.to_thread(records.paused_campaigns),
            asyncio.to_thread(records.borrowers_in_segments), services.campaigns_due.counts(services.clock()))
        rows = []
        for name, campaign in strategy.campaigns.items():
            count = counts.get(name)
            rows.append({
                "name": name, "description": campaign.description, "segments": list(campaign.segments),
                "status": "paused" if name in paused else "active",
                "borrowers": sum(placed.get(segment, 0) for segment in campaign.segments), "due": due[name],
                "planned": sum(count.by_status.values()) if count else 0,
                "attempted": count.attempted if count else 0, "reached": count.reached if count else 0,
                "promised": count.promised if count else 0, "by_status": count.by_status if count else {},
                "refused": count.refused if count else {},
            })
        callbacks = counts.get(CALLBACK_CAMPAIGN)
        return {"since": since.isoformat(), "campaigns": rows,
                "callbacks": {"by_status": callbacks.by_status if callbacks else {}, "due": due[CALLBACK_CAMPAIGN],
                              "status": "paused" if "callbacks" in paused else "active"}}

    @router.post("/api/console/campaigns/{name}/{action}")
    async def pause_or_resume(request: Request, name: str = PathParam(max_length=64), action: str = PathParam(max_length=8),
                              supervisor: Agent = Depends(current_supervisor)) -> dict[str, str]:
        services = services_of(request)
        if name not in services.strategy.campaigns and name != "callbacks":
            raise HTTPException(status_code=404, detail="unknown_campaign")
        if action not in ("pause", "resume"):
            raise HTTPException(status_code=404, detail="unknown_action")
        status = "paused" if action == "pause" else "active"
        await asyncio.to_thread(services.campaign_records.set_campaign_status, name, status, supervisor.name,
                                services.clock())
        return {"name": name, "status": status, "changed_by": supervisor.name}

    @router.get("/api/console/borrowers/{borrower_id}/contacts")
    async def contact_history(request: Request, borrower_id: str = BORROWER_ID,
                              _: Agent = Depends(current_supervisor)) -> dict[str, Any]:
        services = services_of(request)
        if await asyncio.to_thread(services.ledger.get_borrower, borrower_id) is None:
            raise HTTPException(status_code=404, detail="unknown_borrower")
        records = services.campaign_records
        segments, contacts, decisions, claims = await asyncio.gather(
            asyncio.to_thread(records.segment_history, borrower_id), asyncio.to_thread(records.contacts_for, borrower_id),
            asyncio.to_thread(services.ledger.contact_attempts_for, borrower_id),
            asyncio.to_thread(services.ledger.claims_for, borrower_id))
        return {
            "borrower": mask_reference(borrower_id),
            "segments": [{"segment": s.segment, "previous": s.previous_segment, "reason": s.reason,
                          "at": s.changed_at.isoformat()} for s in segments],
            "contacts": [{"attempt_id": c.attempt_id, "campaign": c.campaign, "segment": c.segment,
                          "channel": c.channel, "script": c.script, "status": c.status, "reason": c.reason,
                          "planned_at": c.planned_at.isoformat(), "updated_at": c.updated_at.isoformat()}
                         for c in contacts],
            "policy_decisions": [{"channel": a.channel, "outcome": a.outcome, "reason": a.reason,
                                  "reference": a.conversation_id, "at": a.created_at.isoformat()} for a in decisions],
            # Open ones first: what holds the borrower (a dispute) or softens the treatment (hardship) until closed.
            "claims": [claim_json(c) for c in sorted(claims, key=lambda c: (c.status != "open", c.claim_id))],
        }

    return router
