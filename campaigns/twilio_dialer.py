"""The production dialer: Twilio's REST API, Calls.create (POST /2010-04-01/Accounts/{sid}/Calls.json).

Twilio dials the number; when the call is answered it asks the gateway's /voice/twilio/outbound what to do
(with AnsweredBy from answering-machine detection), and reports the call's progress to /voice/twilio/status.
Both addresses carry a signed ticket naming the attempt (campaigns.dial_tickets). A call takes one of the
shared call slots (campaigns.call_slots) before it is placed; the final status callback frees it.

    dialer = make_twilio_dialer(Settings(), redis_client)     # redis.asyncio client
    placed = await dialer.place_call(CallRequest(...))

The same Calls resource updates a live call (POST …/Calls/{CallSid}.json with Twiml): a handoff transfers the
call to a person that way (TwilioCalls.redirect, bot.channels.call_transfer).
"""
from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

import httpx

from bot.links import load_link_key
from campaigns.call_slots import CallSlots
from campaigns.dial_tickets import TICKET_PARAMETER, DialTicket, DialTickets
from campaigns.dialer import CALL_SID, CallPlaced, CallRequest, DialerBusy, DialerError
from configuration.settings import DialerSettings, Settings
from ledger.references import mask_reference

logger = logging.getLogger("campaigns.dialer")

OUTBOUND_WEBHOOK_PATH = "/voice/twilio/outbound"
STATUS_CALLBACK_PATH = "/voice/twilio/status"
STATUS_EVENTS = ("initiated", "ringing", "answered", "completed")
# Twilio's MachineDetection: DetectMessageEnd waits for the greeting to end, so a message left lands after the beep.
MACHINE_DETECTION = {"leave_message": "DetectMessageEnd", "hang_up": "Enable"}


class TwilioCalls:
    """Twilio's Calls resource of one account: create a call, update a live one. DialerError when Twilio refused
    or could not be reached."""

    def __init__(self, settings: DialerSettings, auth_token: str, client: httpx.AsyncClient) -> None:
        if settings.account_sid is None:
            raise ValueError("Twilio's REST API needs COLLECTIONS_DIALER_ACCOUNT_SID")
        self._auth = (settings.account_sid, auth_token)
        self._calls_url = f"{settings.api_base}/2010-04-01/Accounts/{settings.account_sid}/Calls"
        self._timeout = settings.request_timeout_seconds
        self._client = client

    async def create(self, form: dict[str, Any]) -> str:
        """Calls.create; the new call's sid."""
        response = await self._post(f"{self._calls_url}.json", form, "the call")
        try:
            call_sid = response.json()["sid"]
        except (ValueError, KeyError, TypeError):
            call_sid = None
        if not isinstance(call_sid, str) or not call_sid.startswith("CA"):
            raise DialerError("Twilio's answer names no call (no sid)")
        return call_sid

    async def redirect(self, provider_call_id: str, twiml: str) -> None:
        """Updates a live call with new TwiML (Twilio ends its media stream and follows the TwiML)."""
        if not CALL_SID.match(provider_call_id):
            raise DialerError("not a Twilio call id")
        await self._post(f"{self._calls_url}/{provider_call_id}.json", {"Twiml": twiml}, "the call update")

    async def _post(self, url: str, form: dict[str, Any], what: str) -> httpx.Response:
        try:
            response = await self._client.post(url, data=form, auth=self._auth, timeout=self._timeout)
        except httpx.HTTPError as error:
            raise DialerError(f"Twilio could not be reached: {type(error).__name__}") from error
        if response.status_code not in (200, 201):
            raise DialerError(f"Twilio refused {what}: HTTP {response.status_code} {_twilio_error(response)}")
        return response


class TwilioDialer:
    def __init__(self, settings: DialerSettings, auth_token: str, public_url: str, tickets: DialTickets,
                 slots: CallSlots, client: httpx.AsyncClient) -> None:
        if not settings.enabled:
            raise ValueError("the dialer needs COLLECTIONS_DIALER_ACCOUNT_SID and COLLECTIONS_DIALER_FROM_NUMBER")
        self._settings = settings
        self._calls = TwilioCalls(settings, auth_token, client)
        self._public_url = public_url
        self._tickets = tickets
        self._slots = slots

    async def free_lines(self) -> int:
        return max(0, self._settings.max_concurrent_calls - await self._slots.held())

    async def place_call(self, request: CallRequest) -> CallPlaced:
        if not await self._slots.acquire(request.attempt_id):
            raise DialerBusy(f"all {self._settings.max_concurrent_calls} call slots are taken")
        try:
            placed = await self._create(request)
        except BaseException:
            await self._slots.release(request.attempt_id)  # nothing rings, so nothing will free it
            raise
        logger.info("call placed attempt=%s call=%s", mask_reference(request.attempt_id),
                    mask_reference(placed.provider_call_id))
        return placed

    async def _create(self, request: CallRequest) -> CallPlaced:
        ticket = urlencode({TICKET_PARAMETER: self._tickets.issue(
            DialTicket(request.borrower_id, request.attempt_id, request.script))})
        form: dict[str, Any] = {
            "To": request.to_number, "From": self._settings.from_number,
            "Url": f"{self._public_url}{OUTBOUND_WEBHOOK_PATH}?{ticket}", "Method": "POST",
            "StatusCallback": f"{self._public_url}{STATUS_CALLBACK_PATH}?{ticket}", "StatusCallbackMethod": "POST",
            "StatusCallbackEvent": list(STATUS_EVENTS),  # one field per event, as Twilio's own library sends them
            "MachineDetection": MACHINE_DETECTION[self._settings.machine_policy],
            "Timeout": str(self._settings.ring_seconds),
        }
        return CallPlaced(await self._calls.create(form))


def _twilio_error(response: httpx.Response) -> str:
    """Twilio's error code and message (e.g. 21211 invalid 'To' number), never the request."""
    try:
        body = response.json()
        return f"(code {body.get('code')}: {str(body.get('message', ''))[:200]})"
    except (ValueError, AttributeError):
        return ""


def make_twilio_dialer(settings: Settings, redis_client: Any, client: httpx.AsyncClient | None = None) -> TwilioDialer:
    """The dialer the settings describe; ValueError naming what is missing when they describe none."""
    dialer, voice = settings.dialer, settings.voice
    missing = [name for name, value in (
        ("COLLECTIONS_DIALER_ACCOUNT_SID", dialer.account_sid), ("COLLECTIONS_DIALER_FROM_NUMBER", dialer.from_number),
        ("COLLECTIONS_VOICE_TWILIO_AUTH_TOKEN", voice.twilio_auth_token),
        ("COLLECTIONS_VOICE_PUBLIC_URL", voice.public_url)) if value is None]
    if missing:
        raise ValueError(f"outbound calls need {', '.join(missing)}")
    slots = CallSlots(redis_client, dialer.max_concurrent_calls, dialer.max_call_seconds)
    tickets = DialTickets(load_link_key(settings.gateway), dialer.max_call_seconds)
    return TwilioDialer(dialer, voice.twilio_auth_token.get_secret_value(), voice.public_url, tickets, slots,
                        client or httpx.AsyncClient())
