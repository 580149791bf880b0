from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one outgoing utterance.

    ``categories``/``rules`` list what fired (rules in firing order; a rule id of the form
    ``CLF-<category>`` means the learned classifier blocked it). ``replacement`` is the first fired
    category's safe sentence. ``excused`` lists rules that matched but were excused (negated,
    quoted in an anti-fraud warning, or echoing the borrower) — for the audit trail only.
    """

    allowed: bool
    categories: tuple[str, ...] = field(default_factory=tuple)
    rules: tuple[str, ...] = field(default_factory=tuple)
    replacement: str | None = None
    excused: tuple[str, ...] = field(default_factory=tuple)
