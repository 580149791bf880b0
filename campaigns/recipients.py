"""Who a reminder goes to, from the ledger: the borrower must exist and not be stopped (do not contact, collection
paused: the contact policy refuses these first; this is the last guard before anything leaves), and an SMS goes
only to the number on file, in E.164, unless that number opted out of SMS (STOP, or the carrier's word: ledger
sms_opt_outs). The ledger or Redis being down fails closed: nothing is sent."""
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
SMS_OPTED_OUT = "sms_opted_out"
DEMO_BORROWER = "demo_borrower_with_real_provider"
LOOKUP_UNAVAILABLE = "lookup_unavailable"


class Recipients:
    def __init__(self, ledger: Ledger, bindings: WeChatBindings | None = None, *, demo_borrowers: bool = True) -> None:
        """`demo_borrowers` False (a real provider is configured): the made-up borrowers ledger.seed wrote are nobody
        to send to, whoever asks (the worker, campaigns.send_reminder)."""
        self._ledger = ledger
        self._bindings = bindings
        self._demo_borrowers = demo_borrowers

    async def contactable(self, borrower_id: str) -> None:
        try:
            borrower = await asyncio.to_thread(self._ledger.get_borrower, borrower_id)
        except SQLAlchemyError as error:
            raise MessengerError(LOOKUP_UNAVAILABLE, permanent=False, detail=type(error).__name__) from None
        if borrower is None:
            raise NoRecipient(UNKNOWN_BORROWER)
        if borrower.do_not_contact or borrower.collection_paused:
            raise NoRecipient(CONTACT_STOPPED)
        if borrower.source == "demo" and not self._demo_borrowers:
            raise NoRecipient(DEMO_BORROWER)

    async def phone(self, borrower_id: str) -> str:
        """The contactable borrower's number on file in E.164, for an SMS: NoRecipient when it opted out."""
        await self.contactable(borrower_id)
        try:
            number = await asyncio.to_thread(self._ledger.contact_phone, borrower_id)
            normalised = e164(number)
            if normalised is None:
                raise NoRecipient(NO_PHONE_NUMBER)
            if await asyncio.to_thread(self._ledger.sms_opted_out, normalised):
                raise NoRecipient(SMS_OPTED_OUT)
        except SQLAlchemyError as error:
            raise MessengerError(LOOKUP_UNAVAILABLE, permanent=False, detail=type(error).__name__) from None
        return normalised

    async def opted_out(self, number: str) -> None:
        """The carrier says this number opted out of SMS (Twilio 21610): none is sent to it again until it texts
        START. Recorded in the ledger as the carrier's (source carrier_opt_out)."""
        try:
            await asyncio.to_thread(self._ledger.record_sms_opt_out, number, "carrier_opt_out")
        except SQLAlchemyError as error:
            raise MessengerError(LOOKUP_UNAVAILABLE, permanent=False, detail=type(error).__name__) from None

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
