"""The supervisor's KPI dashboard: its page, its script, the vendored Chart.js bundle and the figures (ledger.kpis).

    GET /console/kpis                         the page (supervisors; others 403, nobody signed in: to /console)
    GET /api/console/kpis?start&end&by&...    the figures as JSON (supervisors only)
    GET /api/console/kpis.csv?...             the same rows and total as a CSV file

start and end are local days (inclusive, default: the 30 days up to today); by is one of day, segment, channel,
campaign, agent; segment, channel, campaign and agent filter to one value each.
"""
from __future__ import annotations

import asyncio
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response

from bot.console.agents import Agent
from bot.console.auth import current_supervisor, request_token
from bot.dependencies import services_of
from ledger.kpis import KpiQuery, KpiRequestError, kpis_csv

ROOT = Path(__file__).resolve().parents[2]
STATIC = Path(__file__).resolve().parent / "static"
CHART_JS_VERSION = "4.6.1"
# Where scripts/setup.sh unpacks the npm package; dist/chart.umd.min.js is its UMD bundle (global `Chart`).
CHART_JS_BUNDLE = ROOT / "var" / "vendor" / f"chart.js-{CHART_JS_VERSION}" / "dist" / "chart.umd.min.js"
DEFAULT_DAYS = 30


def _dimension_value() -> Any:
    """A filter's query parameter; one object per parameter (FastAPI names a shared one after the first)."""
    return Query(None, max_length=64)


def _query(request: Request, start: date | None, end: date | None, by: str, zone: str,
           filters: dict[str, str | None]) -> KpiQuery:
    try:
        today = services_of(request).clock().astimezone(ZoneInfo(zone)).date()
    except Exception:
        raise HTTPException(status_code=422, detail="unknown_time_zone") from None
    end = end or today
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    try:
        return KpiQuery(start, end, zone, by, {name: value for name, value in filters.items() if value})
    except KpiRequestError as error:
        raise HTTPException(status_code=422, detail=str(error)) from None


def dashboard_router(chart_bundle: Path = CHART_JS_BUNDLE) -> APIRouter:
    router = APIRouter()

    @router.get("/console/kpis", include_in_schema=False, response_model=None)
    async def page(request: Request) -> Response:
        agent = await services_of(request).console_sessions.agent_for(request_token(request))
        if agent is None:
            return RedirectResponse("/console", status_code=303)
        if not agent.is_supervisor:
            return Response("仅限主管 · supervisors only", status_code=403, media_type="text/plain; charset=utf-8")
        return FileResponse(STATIC / "kpis.html", media_type="text/html; charset=utf-8")

    @router.get("/console/kpis.js", include_in_schema=False)
    async def script() -> FileResponse:
        return FileResponse(STATIC / "kpis.js", media_type="text/javascript; charset=utf-8")

    @router.get("/console/chart.umd.js", include_in_schema=False, response_model=None)
    async def chart_library() -> Response:
        if not chart_bundle.is_file():
            return JSONResponse({"error": "chart_library_not_installed",
                                 "detail": f"Chart.js {CHART_JS_VERSION} is missing ({chart_bundle}); run scripts/setup.sh"},
                                status_code=503)
        return FileResponse(chart_bundle, media_type="text/javascript; charset=utf-8")

    def _params(request: Request, start: date | None, end: date | None, by: str, zone: str, segment: str | None,
                channel: str | None, campaign: str | None, agent: str | None) -> KpiQuery:
        return _query(request, start, end, by, zone,
                      {"segment": segment, "channel": channel, "campaign": campaign, "agent": agent})

    @router.get("/api/console/kpis")
    async def kpis(request: Request, start: date | None = None, end: date | None = None,
                   by: str = Query("day", max_length=16), zone: str = Query("Asia/Shanghai", max_length=64),
                   segment: str | None = _dimension_value(), channel: str | None = _dimension_value(),
                   campaign: str | None = _dimension_value(), agent: str | None = _dimension_value(),
                   _: Agent = Depends(current_supervisor)) -> dict[str, Any]:
        query = _params(request, start, end, by, zone, segment, channel, campaign, agent)
        return await asyncio.to_thread(services_of(request).kpis.report, query)

    @router.get("/api/console/kpis.csv")
    async def kpis_file(request: Request, start: date | None = None, end: date | None = None,
                        by: str = Query("day", max_length=16), zone: str = Query("Asia/Shanghai", max_length=64),
                        segment: str | None = _dimension_value(), channel: str | None = _dimension_value(),
                        campaign: str | None = _dimension_value(), agent: str | None = _dimension_value(),
                        _: Agent = Depends(current_supervisor)) -> Response:
        query = _params(request, start, end, by, zone, segment, channel, campaign, agent)
        report = await asyncio.to_thread(services_of(request).kpis.report, query)
        name = f"kpis-{query.start.isoformat()}-{query.end.isoformat()}-by-{query.by}.csv"
        return Response(kpis_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    return router
