"""The demo messenger, used while no provider is real (Settings.demo): each reminder is kept in the ledger
database (table demo_inbox_messages, so the campaign worker and the gateway see the same inbox without Redis)
instead of being sent, and /demo/inbox lists them per borrower with the chat link to click.

It refuses exactly what the real messengers refuse (unknown or stopped borrowers, no number on file for an SMS, no
WeChat user verified as the borrower for a WeChat card, a text the compliance filter refuses). The page shows
what a borrower's phone would: the invitation and the link, the number masked, never a debt detail; it is off
once any provider is real (Settings.demo)."""
from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from campaigns.invitations import Invitation, InvitationTexts, MessengerError, SentMessage
from campaigns.recipients import LOOKUP_UNAVAILABLE, Recipients
from ledger.models import DemoInboxMessage

STATIC_DIR = Path(__file__).resolve().parents[1] / "bot" / "static"
MAX_LISTED = 200
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
PAGE_FILES = {"": ("demo_inbox.html", "text/html"), "/page.js": ("demo_inbox.js", "text/javascript")}


@dataclass(frozen=True)
class InboxMessage:
    id: int
    borrower_id: str
    channel: str
    recipient: str
    text: str
    link: str
    sent_at: datetime


class DemoInbox:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def add(self, borrower_id: str, channel: str, recipient: str, text: str, link: str) -> int:
        with self._sessions.begin() as session:
            row = DemoInboxMessage(borrower_id=borrower_id, channel=channel, recipient=recipient, text=text, link=link)
            session.add(row)
            session.flush()
            return row.id

    def latest(self, borrower_id: str | None = None, limit: int = MAX_LISTED) -> list[InboxMessage]:
        """Newest first."""
        query = select(DemoInboxMessage).order_by(DemoInboxMessage.id.desc()).limit(limit)
        if borrower_id is not None:
            query = query.where(DemoInboxMessage.borrower_id == borrower_id)
        with self._sessions.begin() as session:
            return [InboxMessage(row.id, row.borrower_id, row.channel, row.recipient, row.text, row.link, row.sent_at)
                    for row in session.scalars(query)]


def masked_number(number: str) -> str:
    """'+86138****5678': enough for a demo to see it went to the number on file, not the whole number."""
    return f"{number[:-8]}****{number[-4:]}" if len(number) > 8 else "****"


class DemoMessenger:
    def __init__(self, inbox: DemoInbox, recipients: Recipients, texts: InvitationTexts) -> None:
        self._inbox = inbox
        self._recipients = recipients
        self._texts = texts

    async def send(self, invitation: Invitation) -> SentMessage:
        if invitation.channel == "sms":
            recipient = masked_number(await self._recipients.phone(invitation.borrower_id))
        else:
            await self._recipients.openid(invitation.borrower_id)
            recipient = "WeChat"
        text = self._texts.for_channel(invitation)
        try:
            message_id = await asyncio.to_thread(
                self._inbox.add, invitation.borrower_id, invitation.channel, recipient, text, invitation.link)
        except SQLAlchemyError as error:
            raise MessengerError(LOOKUP_UNAVAILABLE, permanent=False, detail=type(error).__name__) from None
        return SentMessage(f"demo-{message_id}", invitation.channel, text)


def demo_inbox_router() -> APIRouter:
    """/demo/inbox (the page), /demo/inbox/page.js and /demo/inbox/messages[?borrower_id=…] (JSON, newest first).
    The inbox comes from the gateway's services (bot.services: `demo_inbox`)."""
    router = APIRouter(prefix="/demo/inbox")
    headers = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-cache"}

    @router.get("/messages")
    async def messages(request: Request, borrower_id: str | None = Query(default=None, min_length=1, max_length=64)
                       ) -> dict[str, Any]:
        inbox: DemoInbox = request.app.state.services.demo_inbox
        listed = await asyncio.to_thread(inbox.latest, borrower_id)
        return {"messages": [{**asdict(message), "sent_at": message.sent_at.isoformat()} for message in listed]}

    for suffix, (filename, media_type) in PAGE_FILES.items():
        router.add_api_route(suffix or "", _static_file(filename, media_type, headers), methods=["GET"],
                             response_model=None)
    return router


def _static_file(filename: str, media_type: str, headers: dict[str, str]):
    async def serve_file() -> Response:
        return FileResponse(STATIC_DIR / filename, media_type=media_type, headers=headers)

    return serve_file
