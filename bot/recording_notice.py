"""The greeting says a conversation is recorded ("本次沟通将全程录音" / "This conversation is recorded"): true of chats
(the transcript is kept) and of calls while they are recorded (bot.recordings). With call recording switched off,
a call must not claim it: the claim is taken out of what the dialogue says on a call before the egress checks,
records and sends it, so the transcript and the audit hold what was said."""
from __future__ import annotations

import re
from typing import Any

VOICE_CHANNELS = frozenset({"phone", "browser_voice"})  # bot.channels.voice: every call goes through voice.call
_CLAIMS = (
    re.compile(r"[，,]?\s*本次(?:沟通|通话)(?:将|会)?(?:被)?全程录音"),
    re.compile(r"\s*This (?:conversation|call) (?:is|will be) recorded\."),
)


def without_recording_claim(text: str) -> str:
    for claim in _CLAIMS:
        text = claim.sub("", text)
    return text


def unclaimed(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The dialogue's messages with any claim of recording taken out."""
    return [{**message, "text": without_recording_claim(message["text"])} if message.get("text") else message
            for message in messages]
