"""How a payment is split: over the account's balance components in the policy's order, and over the
instalments of its accepted plans, earliest due first. Pure integer arithmetic on cents, no database."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

Key = TypeVar("Key", bound=Hashable)


@dataclass(frozen=True)
class ComponentSplit:
    """`paid` maps component -> cents taken off it (only components that received something, in policy
    order); `credit` is what was left once every balance was zero."""

    paid: tuple[tuple[str, int], ...]
    credit: int

    @property
    def applied(self) -> int:
        return sum(amount for _, amount in self.paid)


def _require_cents(value: int, name: str) -> None:
    # bool is an int subclass and float money is a bug: refuse both.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int number of cents")


def split_over_components(amount_cents: int, balances: Mapping[str, int], order: Sequence[str]) -> ComponentSplit:
    """Pay `amount_cents` off `balances` component by component in `order`; whatever exceeds them all is credit."""
    _require_cents(amount_cents, "amount_cents")
    if amount_cents <= 0:
        raise ValueError("a payment is above zero")
    if sorted(order) != sorted(balances):
        raise ValueError("order must name every balance component once")
    left = amount_cents
    paid = []
    for component in order:
        balance = balances[component]
        _require_cents(balance, component)
        if balance < 0:
            raise ValueError(f"{component} balance is negative")
        taken = min(left, balance)
        if taken:
            paid.append((component, taken))
            left -= taken
    return ComponentSplit(tuple(paid), left)


def split_over_instalments(amount_cents: int, outstanding: Sequence[tuple[Key, int]]) -> list[tuple[Key, int]]:
    """Cover `outstanding` instalments (key, cents still owed), in the order given, until the amount runs out;
    the part of the amount beyond them all is not returned (the schedule is then fully covered)."""
    _require_cents(amount_cents, "amount_cents")
    left = amount_cents
    covered = []
    for key, owed in outstanding:
        if left <= 0:
            break
        taken = min(left, owed)
        if taken > 0:
            covered.append((key, taken))
            left -= taken
    return covered
