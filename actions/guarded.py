"""Base for every action that states or acts on debt details.

dialogue.policies already keeps these actions from being predicted before verification; this is the
second lock, in the process that reads the ledger, so a misconfigured policy still cannot disclose.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation_context import is_verified


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
