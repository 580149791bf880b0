"""Base for every action that states or acts on debt details.

dialogue.policies already keeps these actions from being predicted before verification; this is the
second lock, in the process that reads the ledger, so a misconfigured policy still cannot disclose, nor can a
forged tracker: is_verified asks the ledger whether this conversation's borrower passed an identity check.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation_context import borrower_id, is_verified, ledger
from actions.replies import reply
from ledger.views import AccountView


class DisclosureAction(Action, ABC):
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        if not is_verified(tracker):
            dispatcher.utter_message(response="utter_verification_needed")
            return []
        return await self.run_verified(dispatcher, tracker, domain)

    @abstractmethod
    async def run_verified(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict]:
        """The action itself, reached only for a verified borrower."""


class AccountAction(DisclosureAction, ABC):
    """A disclosure action about the borrower's primary account; says so plainly when there is none."""

    async def run_verified(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        account = ledger().get_primary_account(borrower_id(tracker))
        if account is None:
            dispatcher.utter_message(text=reply(tracker, "no_debt"))
            return []
        return await self.run_for_account(dispatcher, tracker, account)

    @abstractmethod
    async def run_for_account(self, dispatcher: CollectingDispatcher, tracker: Tracker, account: AccountView) -> list[dict]:
        """The action itself, for a verified borrower with an account."""
