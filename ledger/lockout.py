"""When a borrower's identity check is locked after repeated failures (the `verification` section of policy.yml).

Failures are counted per borrower, whatever the conversation or channel they came through, so opening new
conversations buys an attacker no new guesses. A pass or a person's unlock starts the count again; so does the
end of a lockout.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

PositiveInt = Annotated[StrictInt, Field(gt=0)]

# What the count is made of: a compared answer that failed, and the events that start it again.
CheckEventKind = Literal["failed", "passed", "unlocked"]


class VerificationPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_failures: PositiveInt
    failure_window_minutes: PositiveInt
    lockout_minutes: PositiveInt

    @property
    def failure_window(self) -> timedelta:
        return timedelta(minutes=self.failure_window_minutes)

    @property
    def lockout(self) -> timedelta:
        return timedelta(minutes=self.lockout_minutes)

    @property
    def history_needed(self) -> timedelta:
        """Events older than this cannot affect a lock now (no answer is compared, so none fails, while locked)."""
        return self.failure_window + self.lockout


@dataclass(frozen=True)
class CheckEvent:
    at: datetime
    kind: CheckEventKind


def locked_until(events: Iterable[CheckEvent], policy: VerificationPolicy, now: datetime) -> datetime | None:
    """The end of the lockout in force at `now`, or None. `events` oldest first."""
    counted: list[datetime] = []
    until: datetime | None = None
    for event in events:
        if until is not None and event.at >= until:
            counted, until = [], None
        if event.kind != "failed":
            counted, until = [], None
            continue
        counted = [at for at in counted if at > event.at - policy.failure_window] + [event.at]
        if len(counted) >= policy.max_failures:
            until = event.at + policy.lockout
    return until if until is not None and now < until else None
