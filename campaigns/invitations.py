"""What a chat reminder is and says: the `Invitation` the worker hands over, the `SentMessage` it gets back, the
`Messenger` interface and its errors (all re-exported by campaigns.messenger), and the words.

A reminder may be read by someone other than the borrower (a shared phone, a family WeChat), so it carries no
debt detail: an invitation, in the borrower's language, worded per purpose from campaigns/invitations.yml, and a
signed link into the web chat (campaigns.chat_links), where the bot verifies identity before it says anything
about an account. Every text passes the compliance filter the egress uses, as said to an unverified person,
before it is sent; a refused text is never sent.

Failures are `MessengerError`s with a short `reason` the worker records (`NoRecipient` when there is nobody to
send to); `permanent` says whether the same invitation could succeed later. No messenger retries a send.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from string import Formatter
from typing import Literal, Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from compliance_filters import check
from configuration.files import ConfigFileError, load_yaml_model
from ledger.phrasebook import Phrasebook

Channel = Literal["sms", "wechat"]
Language = Literal["zh", "en"]
Purpose = Literal["pre_due_reminder", "overdue", "promise_due", "instalment_due", "callback"]
CHANNELS: tuple[str, ...] = Channel.__args__  # type: ignore[attr-defined]
LANGUAGES: tuple[str, ...] = Language.__args__  # type: ignore[attr-defined]
PURPOSES: tuple[str, ...] = Purpose.__args__  # type: ignore[attr-defined]
MAX_LINK_CHARS = 1024
MAX_INVITATION_CHARS = 200  # the invitation, before the link: a few SMS segments at most
# Said before anyone is verified: the filter's disclosure rules apply.
_UNVERIFIED = {"identity_verified": False}
# An amount needs a digit or a currency sign; the wording file may have neither.
_MONEY_SIGNS = set("0123456789０１２３４５６７８９$¥￥€£元")
_SAMPLE_LINK = "https://chat.example/demo/webchat?link=sample"


# ---- what the worker hands over and gets back ------------------------------------------------------


@dataclass(frozen=True)
class Invitation:
    borrower_id: str
    channel: Channel
    language: Language
    purpose: Purpose
    link: str  # the chat page with a signed borrower link (campaigns.chat_links.ChatLinks.for_borrower)

    def __post_init__(self) -> None:
        if not isinstance(self.borrower_id, str) or not 0 < len(self.borrower_id) <= 64:
            raise ValueError("a borrower id has 1 to 64 characters")
        for name, allowed in (("channel", CHANNELS), ("language", LANGUAGES), ("purpose", PURPOSES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}")
        parts = urlsplit(self.link) if isinstance(self.link, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname \
                or len(self.link) > MAX_LINK_CHARS or any(c.isspace() for c in self.link):
            raise ValueError("the link must be an http(s) address of at most 1024 characters")


@dataclass(frozen=True)
class SentMessage:
    provider_message_id: str
    channel: Channel
    text: str  # exactly what went out (a WeChat card opens the link; its text does not repeat it)


class MessengerError(Exception):
    """`reason` is a short code for the attempt record; `detail` never holds a number, an openid or the text."""

    def __init__(self, reason: str, *, permanent: bool, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.permanent = permanent
        self.detail = detail


class NoRecipient(MessengerError):
    """Nobody to send to: an unknown borrower, no usable number on file, no WeChat user bound, contact stopped."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason, permanent=True, detail=detail)


class TextRefused(MessengerError):
    def __init__(self, rules: tuple[str, ...]) -> None:
        super().__init__("text_refused", permanent=True, detail=",".join(rules))
        self.rules = rules


class Messenger(Protocol):
    async def send(self, invitation: Invitation) -> SentMessage: ...


# ---- the words -----------------------------------------------------------------------------------------


class _BothLanguages(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    zh: str = Field(min_length=1, max_length=MAX_INVITATION_CHARS)
    en: str = Field(min_length=1, max_length=MAX_INVITATION_CHARS)


class _Purposes(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    pre_due_reminder: _BothLanguages
    overdue: _BothLanguages
    promise_due: _BothLanguages
    instalment_due: _BothLanguages
    callback: _BothLanguages


class InvitationWordingFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    purposes: _Purposes
    link_line: _BothLanguages

    @field_validator("purposes")
    @classmethod
    def _no_values_or_money(cls, purposes: _Purposes) -> _Purposes:
        for purpose, texts in purposes:
            for language, text in texts:
                if _value_names(text):
                    raise ValueError(f"{purpose}.{language}: an invitation has no {{values}}")
                if _MONEY_SIGNS & set(text):
                    raise ValueError(f"{purpose}.{language}: no digits or currency signs (an amount reveals a debt)")
        return purposes

    @field_validator("link_line")
    @classmethod
    def _only_the_link(cls, line: _BothLanguages) -> _BothLanguages:
        for language, text in line:
            if _value_names(text) != {"link"} or _MONEY_SIGNS & set(text.replace("{link}", "")):
                raise ValueError(f"{language}: the link line has {{link}} and nothing else to fill, and no digits")
        return line


def _value_names(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(text) if name is not None}


@dataclass(frozen=True)
class InvitationTexts:
    """The words of every invitation, read and checked once (a bad file stops start-up, not a send)."""

    purposes: Phrasebook
    link_line: Phrasebook = field(repr=False)

    @classmethod
    def load(cls, path: Path) -> "InvitationTexts":
        wording = load_yaml_model(path, InvitationWordingFile)
        texts = cls(Phrasebook({purpose: dict(texts) for purpose, texts in wording.purposes}),
                    Phrasebook({"link": dict(wording.link_line)}))
        for purpose in PURPOSES:
            for language in LANGUAGES:
                for channel in CHANNELS:
                    sample = Invitation("B000000", channel, language, purpose, _SAMPLE_LINK)  # type: ignore[arg-type]
                    try:
                        texts.for_channel(sample)
                    except TextRefused as refused:
                        raise ConfigFileError(path, f"purposes.{purpose}.{language}",
                                              f"refused by the compliance filter ({refused.detail})") from None
        return texts

    def for_channel(self, invitation: Invitation) -> str:
        """An SMS is the invitation and the link line; a WeChat card is the invitation (the card opens the link).
        Raises TextRefused when the compliance filter refuses it."""
        text = self.purposes.say(invitation.language, invitation.purpose)
        if invitation.channel == "sms":
            text = f"{text}\n{self.link_line.say(invitation.language, 'link', link=invitation.link)}"
        verdict = check(text, {**_UNVERIFIED, "channel": invitation.channel})
        if not verdict.allowed:
            raise TextRefused(verdict.rules)
        return text
