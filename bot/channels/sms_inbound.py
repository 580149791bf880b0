"""Texts borrowers send to our SMS sender (Twilio's incoming-message webhook, form-encoded, signed with the SMS
account's auth token in X-Twilio-Signature, checked like the voice webhooks: bot.channels.phone_arrival). A stop
word is honoured at once: no SMS goes to that number again (ledger sms_opt_outs, read before every send by
campaigns.recipients) until it texts a start word. US law requires STOP to work; 退订 / TD is the Chinese usage.

    POST /sms/twilio/incoming      From, To, Body, MessageSid …   → 200 (empty TwiML), 403 when not the carrier's

Only the number's SMS is stopped: a stop word says nothing about calls, and START clears only an SMS opt-out (the
borrower's or the carrier's), never a do-not-contact the borrower asked for in a conversation. A number on no
borrower's file gets 200 and nothing is recorded (logged). Any other text is left alone: chat happens in the
verified web chat the reminder links to, never over SMS. On while the SMS provider is configured (bot.app).
"""
from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from bot.channels.phone_arrival import CarrierSignatures
from bot.channels.voice import carrier_form
from bot.dependencies import services_of
from configuration.settings import Settings
from ledger.phones import e164
from ledger.references import mask_reference

logger = logging.getLogger("bot.sms")
WEBHOOK_PATH = "/sms/twilio/incoming"
# The whole text, any case, surrounding spaces and punctuation ignored (Twilio's own opt-out keywords, and China's).
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "退订", "TD"})
START_WORDS = frozenset({"START", "UNSTOP"})
_TRIMMED = " \t\r\n.!?。！？,，"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def keyword(body: str) -> str:
    return body.strip(_TRIMMED).upper()


def sms_router(settings: Settings) -> APIRouter:
    signatures = CarrierSignatures(settings.voice, auth_token=settings.messenger.sms_auth_token)
    router = APIRouter()

    @router.post(WEBHOOK_PATH, response_model=None)
    async def incoming_text(request: Request) -> Response:
        form = await carrier_form(request, signatures)
        if form is None:
            return PlainTextResponse("not signed by the carrier", status_code=403)
        word = keyword(form.get("Body", ""))
        if word in STOP_WORDS or word in START_WORDS:
            await asyncio.to_thread(_honour, services_of(request), form.get("From", ""), word)
        return Response(EMPTY_TWIML, media_type="application/xml")

    return router


def _honour(services, sender: str, word: str) -> None:
    ledger = services.ledger
    number = e164(sender)
    if number is None or not ledger.borrowers_at_number(number):
        logger.info("sms %s from a number on no borrower's file: nothing recorded", word)
        return
    if word in STOP_WORDS:
        recorded = ledger.record_sms_opt_out(number, "sms_keyword", word, at=services.clock())
        logger.info("sms opt-out %s from %s", "recorded" if recorded else "already on record", mask_reference(number))
    else:
        cleared = ledger.clear_sms_opt_out(number, word, at=services.clock())
        logger.info("sms opt-in from %s: %s", mask_reference(number), "cleared" if cleared else "none was active")
