"""What the borrower has heard: audio sent to the carrier, marks it has played, and an estimate in between.

The carrier plays what we send in order and at real time, so the playback position is a clock that
starts when audio first arrives and advances while there is queued audio; a returned mark pins it.
A reply is spoken sentence by sentence, one utterance (and one mark) each, so the marks say which whole
sentences were heard; a cut is reported against the whole reply, as the egress recorded it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

SENDING_LEAD_SECONDS = 0.6    # keep at most this much audio queued at the carrier beyond what is playing
SECONDS_PER_CHARACTER = 0.25  # Mandarin TTS pace, for utterances cut before their length is known
REPLY_CONTINUES = "+"         # ends the mark of a sentence that is not its reply's last


def ends_reply(mark: str) -> bool:
    """Whether the utterance marked `mark` is the last (or only) one of its reply."""
    return not mark.endswith(REPLY_CONTINUES)


@dataclass(eq=False)
class Reply:
    """One message the egress approved, spoken as one utterance per sentence."""
    text: str


@dataclass
class Utterance:
    mark: str
    text: str
    reply: Reply | None = None  # the message this is a sentence of (None: it is a whole message)
    offset: int = 0  # where `text` starts in the reply
    starts_at: float | None = None  # on the playback clock
    seconds_sent: float = 0.0
    fully_sent: bool = False

    @property
    def whole(self) -> str:
        return self.reply.text if self.reply is not None else self.text

    def heard_seconds(self, now: float) -> float:
        if self.starts_at is None:
            return 0.0
        return min(max(now - self.starts_at, 0.0), self.seconds_sent)

    def heard_text(self, now: float) -> str:
        total = self.seconds_sent if self.fully_sent else max(self.seconds_sent, len(self.text) * SECONDS_PER_CHARACTER)
        if total <= 0:
            return ""
        return self.text[: round(len(self.text) * self.heard_seconds(now) / total)]


@dataclass(frozen=True)
class Interrupted:
    text: str
    heard_text: str


class Playback:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._outstanding: list[Utterance] = []
        self._queued_until = 0.0  # playback clock time at which everything sent so far will have played
        self._count = 0

    @property
    def playing(self) -> bool:
        """Audio sent whose mark has not come back: the borrower may be hearing the bot."""
        return bool(self._outstanding)

    def begin(self, text: str, reply: Reply | None = None, offset: int = 0) -> Utterance:
        """`text` is the sentence of `reply` starting at `offset` (no reply: a message of its own)."""
        self._count += 1
        continues = reply is not None and offset + len(text) < len(reply.text)
        utterance = Utterance(f"u{self._count}" + (REPLY_CONTINUES if continues else ""), text, reply, offset)
        self._outstanding.append(utterance)
        return utterance

    def sent(self, utterance: Utterance, seconds: float) -> float:
        """Records audio handed to the carrier; returns how long to wait before sending more."""
        now = self._clock()
        if utterance.starts_at is None:
            utterance.starts_at = max(now, self._queued_until)
        self._queued_until = max(now, self._queued_until) + seconds
        utterance.seconds_sent += seconds
        return max(0.0, self._queued_until - now - SENDING_LEAD_SECONDS)

    def finished_sending(self, utterance: Utterance) -> None:
        utterance.fully_sent = True

    def acknowledged(self, mark: str) -> bool:
        """The carrier played up to `mark`; marks come back in order. False for a mark we never sent."""
        names = [utterance.mark for utterance in self._outstanding]
        if mark not in names:
            return False
        del self._outstanding[: names.index(mark) + 1]
        return True

    def interrupt(self) -> list[Interrupted]:
        """Playback was cleared: what each unfinished reply got to before it stopped (its sentences whose marks
        came back, and as far as the clock says into the ones after)."""
        now = self._clock()
        interrupted: list[Interrupted] = []
        replies: list[Reply | Utterance] = []
        for utterance in self._outstanding:
            heard = utterance.whole[:utterance.offset] + utterance.heard_text(now)
            reply = utterance.reply or utterance
            if replies and replies[-1] is reply:
                if utterance.heard_seconds(now) > 0:  # a later sentence of the same reply had started playing
                    interrupted[-1] = Interrupted(utterance.whole, heard)
                continue
            replies.append(reply)
            interrupted.append(Interrupted(utterance.whole, heard))
        self._outstanding.clear()
        self._queued_until = now
        return interrupted
