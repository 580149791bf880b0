"""A "stop" that is not a stop request: "nah it's fine, don't stop", "不是要你们停". A request to stop contact takes
effect at once, so words that say the opposite must never read as one, whatever an intent model made of the word."""
from __future__ import annotations

import re

_NEGATED_STOP = re.compile(
    # Not "why don't you stop calling me": there the stop is asked for.
    r"(?<!why )\b(?:don'?t|do not|no need to|not asking you to|didn'?t (?:say|mean|ask you to)|never said)\s+"
    r"(?:have to\s+|need to\s+)?stop\b"
    r"|不用停|别停|不要停|不是要你们停|没(?:说|让)你们停|不用不再联系|不是不让(?:你们)?(?:打|联系)",
    re.IGNORECASE)


def says_not_to_stop(text: str) -> bool:
    return bool(_NEGATED_STOP.search(text))
