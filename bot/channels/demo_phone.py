"""The demo phone's page and its rings (/demo/phone), while no carrier is configured: the calls the campaign worker
placed (campaigns.demo_phone) ring here; the page answers one over /voice/demo-phone (bot.channels.voice) or
declines it. A ring nobody takes is reported unanswered when the page (or the worker) next looks.

    GET  /demo/phone                          the page
    GET  /demo/phone/rings                    {"rings": [{attempt_id, borrower_id, number, ringing_seconds}]}
    POST /demo/phone/rings/{attempt}/decline  the borrower declines: a busy signal, as a carrier reports it
"""
from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, HTTPException, Path as PathParam, Request

from bot.channels.voice import _static_file
from bot.dependencies import services_of
from campaigns.demo_inbox import masked_number
from campaigns.dialer import ATTEMPT_ID

PAGE_FILES = {"": ("demo_phone.html", "text/html"), "/page.js": ("demo_phone.js", "text/javascript")}


async def report_rung_out(services: Any) -> None:
    for ring in await services.demo_phone.rung_out():
        await services.outbound.report(ring.status("no-answer"), ring.ticket)


def _phone(request: Request) -> Any:
    services = services_of(request)
    if services.demo_phone is None or services.outbound is None:
        raise HTTPException(status_code=503, detail="demo_phone_needs_redis")
    return services


def demo_phone_router() -> APIRouter:
    router = APIRouter()

    @router.get("/demo/phone/rings")
    async def rings(request: Request) -> dict[str, Any]:
        services = _phone(request)
        await report_rung_out(services)
        now = time.time()
        return {"rings": [{"attempt_id": ring.attempt_id, "borrower_id": ring.borrower_id,
                           "number": masked_number(ring.to_number), "ringing_seconds": int(now - ring.rang_at)}
                          for ring in await services.demo_phone.ringing()]}

    @router.post("/demo/phone/rings/{attempt_id}/decline")
    async def decline(request: Request, attempt_id: str = PathParam(pattern=ATTEMPT_ID.pattern)) -> dict[str, str]:
        services = _phone(request)
        ring = await services.demo_phone.answer(attempt_id)
        if ring is None:
            raise HTTPException(status_code=404, detail="no_such_ring")
        await services.outbound.report(ring.status("busy"), ring.ticket)
        return {"attempt_id": attempt_id, "status": "declined"}

    for suffix, (filename, media_type) in PAGE_FILES.items():
        router.add_api_route(f"/demo/phone{suffix}", _static_file(filename, media_type), methods=["GET"],
                             response_model=None)
    return router
