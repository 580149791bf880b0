"""Signed borrower links: how a borrower arrives in a chat. The lender sends the borrower a link that names
them and when it expires, signed with the gateway's link key (COLLECTIONS_GATEWAY_LINK_KEY, or the key file
COLLECTIONS_GATEWAY_LINK_KEY_FILE, var/link.key by default). A chat opens only with such a link: nobody can
open a conversation for a borrower id they typed. A forged, expired or tampered link is refused, one answer
for all; a well-signed link for an id the ledger does not know opens a conversation like any other, which
fails at verification, so no answer tells whether an id exists.

Issue one:  python -m bot.links B000001 [--hours 72] [--gateway http://127.0.0.1:8000]
"""
from __future__ import annotations

import argparse
import hashlib
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from itsdangerous import BadData, URLSafeSerializer

from bot.key_files import load_secret_key
from configuration.settings import GatewaySettings, Settings

DEFAULT_HOURS = 72.0
MAX_LINK_CHARS = 512  # a borrower id of 64 characters and a signature fit well within it
MAX_BORROWER_ID_CHARS = 64
# Keys are salted per use, so a signature made for one purpose (a web chat session) is no link.
_LINK_SALT = "collections.borrower-link"


class InvalidLink(ValueError):
    """Forged, tampered, expired or malformed: one answer for all."""


@dataclass(frozen=True)
class ChatEntry:
    """Who a chat link admits, and, for the link a campaign reminder carried, which contact it was (its attempt id,
    opaque: a link is signed, not encrypted, and may be read by anyone holding the phone): the chat is that contact's
    conversation, as a placed call is."""
    borrower_id: str
    campaign_attempt: str | None = None


def load_link_key(settings: GatewaySettings) -> bytes:
    return load_secret_key(settings.link_key, settings.link_key_file, "COLLECTIONS_GATEWAY_LINK_KEY")


class BorrowerLinks:
    """`salt` keeps each use apart: a phone call token (bot.channels.phone_arrival) is signed with the same
    key and a different salt, so it opens no chat, and a chat link starts no call."""

    def __init__(self, key: bytes, clock: Callable[[], float] = time.time, salt: str = _LINK_SALT) -> None:
        self._serializer = URLSafeSerializer(key, salt=salt, signer_kwargs={"digest_method": hashlib.sha256})
        self._clock = clock  # wall-clock time, not the conversation clock a demo may freeze

    def issue(self, borrower_id: str, hours: float = DEFAULT_HOURS) -> str:
        return self.issue_claims([borrower_id], hours)

    def admit(self, link: Any) -> str:
        """The borrower id a valid, unexpired link names. Whether the ledger knows that id is not checked here:
        a conversation for an unknown id runs exactly like a known one and fails at verification, so opening
        a chat tells nobody whether an id exists (issue 10 finding 5)."""
        claims = self.admit_claims(link)
        if len(claims) != 1:
            raise InvalidLink()
        return claims[0]

    def issue_for_reminder(self, borrower_id: str, attempt_id: str, hours: float = DEFAULT_HOURS) -> str:
        """The link a campaign reminder carries: it admits the borrower as `issue`'s does, and names the contact."""
        return self.issue_claims([borrower_id, attempt_id], hours)

    def admit_chat(self, link: Any) -> ChatEntry:
        """A chat's entry: a borrower's link (`issue`) or a reminder's (`issue_for_reminder`); InvalidLink otherwise."""
        claims = self.admit_claims(link)
        if len(claims) == 1:
            return ChatEntry(claims[0])
        if len(claims) == 2:
            return ChatEntry(*claims)
        raise InvalidLink()

    def issue_claims(self, claims: Sequence[str], hours: float = DEFAULT_HOURS) -> str:
        """Signed [*claims, expiry]: a borrower id first, then what else the use needs (a phone call placed by
        the dialer names its attempt and script)."""
        if not claims or not all(0 < len(claim) <= MAX_BORROWER_ID_CHARS for claim in claims):
            raise ValueError(f"a borrower id (and each claim) has 1 to {MAX_BORROWER_ID_CHARS} characters")
        return self._serializer.dumps([*claims, int(self._clock() + hours * 3600)])

    def admit_claims(self, link: Any) -> tuple[str, ...]:
        """The claims of a valid, unexpired signed value; InvalidLink otherwise."""
        if not isinstance(link, str) or not 0 < len(link) <= MAX_LINK_CHARS:
            raise InvalidLink()
        try:
            payload = self._serializer.loads(link)  # compares signatures in constant time
        except (BadData, TypeError, ValueError):
            raise InvalidLink() from None
        if not isinstance(payload, list) or len(payload) < 2:
            raise InvalidLink()
        *claims, expires_at = payload
        if not all(isinstance(claim, str) and claim for claim in claims) or not isinstance(expires_at, int) \
                or isinstance(expires_at, bool) or expires_at <= self._clock():
            raise InvalidLink()
        return tuple(claims)


def chat_page_url(page_url: str, link: str) -> str:
    """The chat page's address with the link as its `link` parameter (beside any parameters it already has)."""
    parts = urlsplit(page_url)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), ("link", link)])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def webchat_demo_url(gateway_url: str, link: str) -> str:
    return chat_page_url(f"{gateway_url.rstrip('/')}/demo/webchat", link)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Issue a signed chat link for a borrower.")
    parser.add_argument("borrower_id")
    parser.add_argument("--hours", type=float, default=DEFAULT_HOURS, help="valid for this long (default 72)")
    parser.add_argument("--gateway", help="also print the demo web chat address on this gateway")
    args = parser.parse_args(argv)
    link = BorrowerLinks(load_link_key(Settings().gateway)).issue(args.borrower_id, args.hours)
    print(link)
    if args.gateway:
        print(webchat_demo_url(args.gateway, link))


if __name__ == "__main__":
    main()
