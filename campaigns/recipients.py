"""Who a reminder goes to, from the ledger: the borrower must exist and not be stopped (do not contact, collection
paused: the contact policy refuses these first; this is the last guard before anything leaves), and an SMS goes
only to the number on file, in E.164. The ledger or Redis being down fails closed: nothing is sent."""
from __future__ import annotations

import asyncio

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from bot.channels.wechat_bindings import WeChatBindings
from campaigns.invitations import MessengerError, NoRecipient
from ledger.phones import e164
from ledger.repository import Ledger

UNKNOWN_BORROWER = "unknown_borrower"
CONTACT_STOPPED = "contact_stopped"
NO_PHONE_NUMBER = "no_phone_number"
NO_WECHAT_BINDING = "no_wechat_binding"
LOOKUP_UNAVAILABLE = "lookup_unavailable"


class Recipients:
    def __init__(self, ledger: Ledger, bindings: WeChatBindings | None = None) -> None:
        self._ledger = ledger
        self._bindings = bindings

    async def contactable(self, borrower_id: str) -> None:
        try:
            borrower = await asyncio.to_thread(self._ledger.get_borrower, borrower_id)
        except SQLAlchemyError as error:
            raise MessengerError(LOOKUP_UNAVAILABLE, permanent=False, detail=type(error).__name__) from None
        if borrower is None:
            raise NoRecipient(UNKNOWN_BORROWER)
        if borrower.do_not_contact or borrower.collection_paused:
            raise NoRecipient(CONTACT_STOPPED)

    async def phone(self, borrower_id: str) -> str:
        """The contactable borrower's number on file in E.164."""
        await self.contactable(borrower_id)
        try:
            number = await asyncio.to_thread(self._ledger.contact_phone, borrower_id)
        except SQLAlchemyError as error:
            raise MessengerError(LOOKUP_UNAVAILABLE, permanent=False, detail=type(error).__name__) from None
        normalised = e164(number)
        if normalised is None:
            raise NoRecipient(NO_PHONE_NUMBER)
        return normalised

    async def openid(self, borrower_id: str) -> str:
        """The WeChat user the contactable borrower verified as (bot.channels.wechat_bindings)."""
        await self.contactable(borrower_id)
        if self._bindings is None:
            raise NoRecipient(NO_WECHAT_BINDING)
        try:
            openid = await self._bindings.openid_of(borrower_id)
        except (RedisError, OSError) as error:
            raise MessengerError(LOOKUP_UNAVAILABLE, permanent=False, detail=type(error).__name__) from None
        if openid is None:
            raise NoRecipient(NO_WECHAT_BINDING)
        return openid
