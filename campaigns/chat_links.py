"""The link a reminder carries: the web chat page (COLLECTIONS_MESSENGER_CHAT_PAGE_URL) with a signed borrower
link (bot.links) that admits for COLLECTIONS_MESSENGER_LINK_HOURS. The chat opens only with it, and the bot still
verifies whoever opened it before saying anything about an account."""
from __future__ import annotations

from bot.links import BorrowerLinks, chat_page_url, load_link_key
from configuration.settings import Settings


class ChatLinks:
    def __init__(self, links: BorrowerLinks, page_url: str, hours: float) -> None:
        self._links = links
        self._page_url = page_url
        self._hours = hours

    @classmethod
    def from_settings(cls, settings: Settings) -> "ChatLinks":
        """Signed with the gateway's link key (the key file the gateway creates on its first start)."""
        return cls(BorrowerLinks(load_link_key(settings.gateway)), settings.messenger.chat_page_url,
                   settings.messenger.link_hours)

    def for_borrower(self, borrower_id: str) -> str:
        return chat_page_url(self._page_url, self._links.issue(borrower_id, self._hours))

    def for_reminder(self, borrower_id: str, attempt_id: str) -> str:
        """The campaign contact's own link: the chat it opens is attributed to the contact's campaign, and its
        dialogue knows the contact's script variant, as a call the dialer placed does (the gateway reads both from
        the contact's record: the link names only the opaque attempt id, no debt detail)."""
        return chat_page_url(self._page_url, self._links.issue_for_reminder(borrower_id, attempt_id, self._hours))
