"""The tracker a turn ended with, for the channel that handled the turn (rasa_channels/gateway.py), so that it need
not read the conversation back from the tracker store and rebuild it (about 4 % of a replica's CPU under load,
py-spy): Rasa's `handle_message` saves the tracker as its last step and returns only the bot's messages.

Installed by scripts/run_rasa.py before Rasa starts; without it `capture` collects nothing.
"""
from __future__ import annotations

import contextvars
from contextlib import contextmanager
from typing import Iterator

from rasa.core.processor import MessageProcessor
from rasa.shared.core.trackers import DialogueStateTracker

# The trackers saved while the current request's message was handled; per asyncio task.
_SAVED: contextvars.ContextVar[list[DialogueStateTracker] | None] = contextvars.ContextVar("turn_trackers",
                                                                                          default=None)


@contextmanager
def capture() -> Iterator[list[DialogueStateTracker]]:
    saved: list[DialogueStateTracker] = []
    token = _SAVED.set(saved)
    try:
        yield saved
    finally:
        _SAVED.reset(token)


def install() -> None:
    rasa_save_tracker = MessageProcessor.save_tracker

    async def save_tracker(self: MessageProcessor, tracker: DialogueStateTracker) -> None:
        await rasa_save_tracker(self, tracker)
        saved = _SAVED.get()
        if saved is not None:
            saved.append(tracker)

    MessageProcessor.save_tracker = save_tracker
