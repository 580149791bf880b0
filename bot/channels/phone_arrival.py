"""How a phone call reaches a borrower's conversation, and why nobody can fake one.

The carrier (Twilio, or a bridge speaking its protocol) first asks the voice webhook what to do with a
call (POST /voice/twilio/incoming). The answer is TwiML connecting the call's audio to the media stream
(/voice/twilio) with a short-lived call token, signed with the gateway's link key, that names the borrower
whose number on file is the caller's. Both requests must carry the carrier's signature
(X-Twilio-Signature: HMAC of the URL and form fields with the account's auth token), checked against the
address the carrier reached us at, and the stream's start message must carry a valid call token. So a
client that is not the carrier opens no stream, and no stream can name a borrower of its choosing.

A caller whose number is on no file, or on more than one, hears a neutral line naming no one and no debt.
A call another dialer placed asks the same webhook and is put through to the number dialled; one our own dialer
placed (campaigns.twilio_dialer) asks /voice/twilio/outbound instead (bot.channels.outbound_call), and its token
also names the attempt and the script it was placed for.
"""
from __future__ import annotations

from typing import Mapping
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Connect, VoiceResponse

from bot.links import BorrowerLinks, InvalidLink
from configuration.settings import VoiceSettings
from voice.call import CallParty

SIGNATURE_HEADER = "x-twilio-signature"
MEDIA_STREAM_PATH = "/voice/twilio"
CALL_TOKEN_PARAMETER = "call_token"
_CALL_TOKEN_SALT = "collections.phone-call"


class CallTokens:
    """Signed [borrower id, expiry] for one call's media stream, or, on a call the dialer placed, [borrower id,
    attempt id, script, expiry]; useless as a chat link (another salt)."""

    def __init__(self, key: bytes, lifetime_seconds: int) -> None:
        self._tokens = BorrowerLinks(key, salt=_CALL_TOKEN_SALT)
        self._hours = lifetime_seconds / 3600

    def issue(self, borrower_id: str) -> str:
        return self._tokens.issue(borrower_id, self._hours)

    def issue_outbound(self, borrower_id: str, attempt_id: str, script: str) -> str:
        return self._tokens.issue_claims([borrower_id, attempt_id, script], self._hours)

    def party_of(self, parameters: Mapping[str, str]) -> CallParty | None:
        """Who the start message's token names; None for a missing, forged or expired token."""
        try:
            claims = self._tokens.admit_claims(parameters.get(CALL_TOKEN_PARAMETER))
        except InvalidLink:
            return None
        if len(claims) == 1:
            return CallParty(claims[0])
        if len(claims) == 3:
            return CallParty(claims[0], attempt_id=claims[1], script=claims[2])
        return None


class CarrierSignatures:
    """Checks X-Twilio-Signature. Without an auth token nothing is genuine: phone calls stay off."""

    def __init__(self, settings: VoiceSettings, auth_token: SecretStr | None = None) -> None:
        """`auth_token`: another account's than the voice one (the SMS sender's: bot.channels.sms_inbound)."""
        token = auth_token if auth_token is not None else settings.twilio_auth_token
        self._validator = RequestValidator(token.get_secret_value()) if token is not None else None
        self._public_url = settings.public_url

    @property
    def enabled(self) -> bool:
        return self._validator is not None

    def public_url(self, url: str) -> str:
        """The address the carrier used: behind a proxy, the configured public origin replaces ours."""
        if self._public_url is None:
            return url
        requested, public = urlsplit(url), urlsplit(self._public_url)
        secure = public.scheme == "https"
        scheme = {"http": "https" if secure else "http", "ws": "wss" if secure else "ws"}.get(requested.scheme,
                                                                                             requested.scheme)
        return urlunsplit((scheme, public.netloc, requested.path, requested.query, ""))

    def genuine(self, url: str, form: Mapping[str, str], signature: str | None) -> bool:
        if self._validator is None or not signature:
            return False
        return self._validator.validate(self.public_url(url), dict(form), signature)


def connect_twiml(stream_url: str, call_token: str) -> str:
    """TwiML that streams the call both ways to the gateway with the call's token."""
    response = VoiceResponse()
    connect = Connect()
    stream = connect.stream(url=stream_url)
    stream.parameter(name=CALL_TOKEN_PARAMETER, value=call_token)
    response.append(connect)
    return str(response)


def unknown_caller_twiml(text: str) -> str:
    response = VoiceResponse()
    response.say(text, language="cmn-CN")
    response.hangup()
    return str(response)


def media_stream_url(webhook_url: str) -> str:
    """The media stream on the host the webhook was reached at (wss behind https)."""
    parts = urlsplit(webhook_url)
    return urlunsplit(("wss" if parts.scheme == "https" else "ws", parts.netloc, MEDIA_STREAM_PATH, "", ""))


class PhoneArrival:
    """The voice webhook's decisions: is the request the carrier's, and whom is the call for."""

    def __init__(self, settings: VoiceSettings, link_key: bytes, borrowers_at_number) -> None:
        self.signatures = CarrierSignatures(settings)
        self.tokens = CallTokens(link_key, settings.call_token_seconds)
        self._borrowers_at_number = borrowers_at_number  # Ledger.borrowers_at_number
        self._unknown_caller_text = settings.unknown_caller_text

    def answer(self, webhook_url: str, form: Mapping[str, str]) -> str:
        """TwiML for a call the carrier asks about: the borrower's conversation when exactly one borrower has
        the number on file (the caller's; on a call our dialer placed, the number dialled), else the neutral line."""
        outbound = form.get("Direction", "inbound").startswith("outbound")
        borrowers = self._borrowers_at_number(form.get("To" if outbound else "From", ""))
        if len(borrowers) != 1:
            return unknown_caller_twiml(self._unknown_caller_text)
        stream_url = media_stream_url(self.signatures.public_url(webhook_url))
        return connect_twiml(stream_url, self.tokens.issue(borrowers[0]))
