"""The gateway's input channel into Rasa: one request per borrower turn.

Runs the message as Rasa's REST channel does (collecting the bot's messages), then answers with those
messages and the facts the gateway acts on after the turn, read from the tracker in this process:

    {"messages": [...], "identity_verified": bool, "conversation_ended": bool, "handoff_reasons": [...],
     "language": "zh" | "en", "failed": bool}

`failed` is true when Rasa swallowed an error during the turn (an action server that is down or erring:
Rasa logs it, drops the action's events and carries on), so the gateway can tell the borrower politely
instead of passing off half a turn as the whole answer.

`handoff_reasons` are the values actions set on the `handoff_reason` slot while handling this message,
so a reason raised in an earlier turn is never reported again. Registered in credentials.yml; served
at /webhooks/gateway/webhook. Only the gateway may post turns: a request must carry Rasa's own token
(COLLECTIONS_RASA_TOKEN, which the launcher gives Rasa and the gateway) as `Authorization: Bearer …`;
Rasa's --auth-token guards its HTTP API but not channel webhooks, and any local process could otherwise
speak as any conversation.
"""
from __future__ import annotations

import contextvars
import hmac
import logging
import os
from typing import Any, Awaitable, Callable, Iterable, Sequence

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.shared.core.events import Event, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from rasa_runtime import turn_tracker

logger = logging.getLogger(__name__)
HANDOFF_REASON_SLOT = "handoff_reason"
# Errors Rasa logged (and swallowed) while handling the current request's message; per asyncio task.
_TURN_ERRORS: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("gateway_turn_errors", default=None)


class _TurnErrorCollector(logging.Handler):
    """Rasa's processor logs a failed action with logger.exception and goes on; this notes it for the turn."""

    def emit(self, record: logging.LogRecord) -> None:
        errors = _TURN_ERRORS.get()
        if errors is not None and record.exc_info:
            errors.append(record.getMessage())


_collector = _TurnErrorCollector(level=logging.ERROR)
logging.getLogger("rasa.core.processor").addHandler(_collector)


def turn_facts(tracker: DialogueStateTracker, message_id: str) -> dict[str, Any]:
    """What the gateway needs to know after the turn that handled message `message_id`."""
    return {
        "identity_verified": tracker.get_slot("identity_verified") is True,
        "conversation_ended": tracker.get_slot("conversation_ended") is True,
        "handoff_reasons": _handoff_reasons(_events_of_turn(tracker.events, message_id)),
        "language": tracker.get_slot("language") or "zh",
    }


def _events_of_turn(events: Sequence[Event], message_id: str) -> list[Event]:
    """The events after the user message `message_id` up to the next user message (a later turn of the
    same conversation may already be in the tracker); none when the message was never logged."""
    after: list[Event] = []
    for event in reversed(events):
        if isinstance(event, UserUttered):
            if event.message_id == message_id:
                return after[::-1]
            after.clear()
        else:
            after.append(event)
    return []


def _handoff_reasons(events: Iterable[Event]) -> list[str]:
    reasons = [event.value for event in events
               if isinstance(event, SlotSet) and event.key == HANDOFF_REASON_SLOT and event.value]
    return list(dict.fromkeys(reasons))  # each once, in the order raised


class GatewayInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "gateway"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("gateway_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            token = os.environ.get("COLLECTIONS_RASA_TOKEN", "")
            if not token:
                return response.json({"error": "COLLECTIONS_RASA_TOKEN is not set: no turn is accepted"}, status=503)
            presented = request.headers.get("authorization", "")
            if not hmac.compare_digest(presented.encode(), f"Bearer {token}".encode()):
                return response.json({"error": "the gateway's token is required"}, status=401)
            body = request.json if isinstance(request.json, dict) else {}
            sender, text = body.get("sender"), body.get("message")
            if not isinstance(sender, str) or not sender or not isinstance(text, str):
                return response.json({"error": "sender and message must be strings"}, status=400)
            agent = request.app.ctx.agent
            if agent is None or not agent.is_ready():
                return response.json({"error": "no model loaded"}, status=503)
            collector = CollectingOutputChannel()
            message = UserMessage(text, collector, sender, input_channel=self.name(), metadata=body.get("metadata"))
            # Like Rasa's REST channel: a failing turn still answers with whatever was said before the failure.
            errors: list[str] = []
            token = _TURN_ERRORS.set(errors)
            try:
                with turn_tracker.capture() as saved:
                    await on_new_message(message)
            except Exception:
                logger.exception("gateway turn failed for %s", sender)
                errors.append("turn raised")
            finally:
                _TURN_ERRORS.reset(token)
            # The tracker this turn saved; read back only when the turn saved none (it failed first).
            tracker = saved[-1] if saved else await agent.processor.get_tracker(sender)
            return response.json({"messages": collector.messages, **turn_facts(tracker, message.message_id),
                                  "failed": bool(errors)})

        return webhook
