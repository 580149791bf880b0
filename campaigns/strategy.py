"""The collection strategy (campaigns/strategy.yml): which segment a borrower is in and what that means.

    strategy = load_strategy()                     # validated; ConfigFileError names the file and the key
    placement = strategy.place(facts)              # Placement(segment, treatment, campaign)

A segment is chosen from the facts the ledger holds about the borrower's account (ledger.portfolio.BorrowerFacts):
the first segment whose conditions all hold. A treatment says how the campaign contacts the segment: the channel
order, how many days between contacts, the preferred local hours (inside every contact-policy window: checked at
load), the script variant and the offer limits the plan action respects.
"""
from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from compliance_filters.contact_policy import ContactPolicyConfig, load_config as load_contact_policy
from configuration.files import ConfigFileError, load_yaml_model
from ledger.portfolio import BorrowerFacts

STRATEGY_PATH = Path(__file__).with_name("strategy.yml")
Channel = Literal["message", "call"]
# The script variants the dialogue and the messenger know (gentle before the due date, firm but lawful late).
Script = Literal["reminder", "hardship", "overdue_gentle", "overdue_firm"]


def _clock(value: Any) -> time:
    if isinstance(value, time):
        return value
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except ValueError as error:
        raise ValueError(f"{value!r} is not HH:MM") from error


class Offer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_periods: int | None = Field(default=None, ge=1)


class Treatment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    channels: tuple[Channel, ...]
    every_days: int = Field(default=1, ge=1)
    preferred_hours: tuple[tuple[time, time], ...] = ()
    script: Script = "overdue_gentle"
    offer: Offer = Offer()

    @field_validator("preferred_hours", mode="before")
    @classmethod
    def _hours(cls, value: Any) -> tuple[tuple[time, time], ...]:
        spans = []
        for span in value or ():
            if not isinstance(span, (list, tuple)) or len(span) != 2:
                raise ValueError('each span is ["HH:MM", "HH:MM"]')
            start, end = _clock(span[0]), _clock(span[1])
            if start >= end:
                raise ValueError(f"{span!r} must start before it ends")
            spans.append((start, end))
        return tuple(spans)

    @model_validator(mode="after")
    def _contacts_have_hours(self) -> Treatment:
        if self.channels and not self.preferred_hours:
            raise ValueError("a treatment that contacts anyone needs preferred_hours")
        if len(set(self.channels)) != len(self.channels):
            raise ValueError("a channel appears twice in channels")
        return self

    @property
    def contacts(self) -> bool:
        return bool(self.channels)

    def in_preferred_hours(self, local_clock: time) -> bool:
        return any(start <= local_clock < end for start, end in self.preferred_hours)

    def channel_for(self, contacts_in_segment: int) -> Channel:
        """Channels take turns in the given order: the first contact in a segment uses the first channel."""
        return self.channels[contacts_in_segment % len(self.channels)]


class Conditions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    days_past_due: tuple[int | None, int | None] | None = None
    balance_cents: tuple[int | None, int | None] | None = None
    risk_tiers: frozenset[str] | None = None
    broken_promises_at_least: int | None = Field(default=None, ge=1)
    open_dispute: bool | None = None
    hardship: bool | None = None
    contact_stopped: bool | None = None
    days_since_contact_at_least: int | None = Field(default=None, ge=1)

    def hold_for(self, facts: BorrowerFacts) -> bool:
        checks = (
            _within(facts.days_past_due, self.days_past_due),
            _within(facts.balance_cents, self.balance_cents),
            self.risk_tiers is None or facts.risk_tier in self.risk_tiers,
            self.broken_promises_at_least is None or facts.broken_promises >= self.broken_promises_at_least,
            self.open_dispute is None or facts.open_dispute == self.open_dispute,
            self.hardship is None or facts.hardship == self.hardship,
            self.contact_stopped is None or facts.contact_stopped == self.contact_stopped,
            self.days_since_contact_at_least is None or facts.days_since_contact is None
            or facts.days_since_contact >= self.days_since_contact_at_least,
        )
        return all(checks)


def _within(value: int, bounds: tuple[int | None, int | None] | None) -> bool:
    if bounds is None:
        return True
    low, high = bounds
    return (low is None or value >= low) and (high is None or value <= high)


class Segment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    when: Conditions
    treatment: str


class Campaign(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    segments: tuple[str, ...]


class Placement(BaseModel):
    model_config = ConfigDict(frozen=True)

    segment: str
    treatment: Treatment
    campaign: str | None  # None: a hold segment, nobody contacts the borrower


class Strategy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    campaigns: dict[str, Campaign]
    follow_up_reminders: str
    treatments: dict[str, Treatment]
    segments: tuple[Segment, ...]

    @model_validator(mode="after")
    def _consistent(self) -> Strategy:
        names = [segment.name for segment in self.segments]
        if len(set(names)) != len(names):
            raise ValueError("a segment name appears twice")
        if not self.segments or self.segments[-1].when != Conditions():
            raise ValueError("the last segment must have no conditions (`when: {}`), so every borrower has one")
        owners: dict[str, str] = {}
        for campaign_name, campaign in self.campaigns.items():
            for segment in campaign.segments:
                if segment not in names:
                    raise ValueError(f"campaign {campaign_name!r} names unknown segment {segment!r}")
                if segment in owners:
                    raise ValueError(f"segment {segment!r} is in campaigns {owners[segment]!r} and {campaign_name!r}")
                owners[segment] = campaign_name
        reminders = self.treatments.get(self.follow_up_reminders)
        if reminders is None or "message" not in reminders.channels:
            raise ValueError(f"follow_up_reminders names {self.follow_up_reminders!r}: it must be a treatment that "
                             "sends messages")
        for segment in self.segments:
            if segment.treatment not in self.treatments:
                raise ValueError(f"segment {segment.name!r} names unknown treatment {segment.treatment!r}")
            if self.treatments[segment.treatment].contacts and segment.name not in owners:
                raise ValueError(f"segment {segment.name!r} contacts borrowers but is in no campaign")
        return self

    def campaign_of(self, segment: str) -> str | None:
        return next((name for name, campaign in self.campaigns.items() if segment in campaign.segments), None)

    def place(self, facts: BorrowerFacts) -> Placement:
        segment = next(segment for segment in self.segments if segment.when.hold_for(facts))
        treatment = self.treatments[segment.treatment]
        return Placement(segment=segment.name, treatment=treatment,
                         campaign=self.campaign_of(segment.name) if treatment.contacts else None)

    def treatment_of(self, segment: str) -> Treatment | None:
        found = next((s for s in self.segments if s.name == segment), None)
        return self.treatments[found.treatment] if found else None

    def check_against(self, contact_policy: ContactPolicyConfig, path: Path | str) -> Strategy:
        """Preferred hours must lie inside every profile's allowed window: the strategy never plans a contact the
        contact policy would refuse for the hour."""
        for name, treatment in self.treatments.items():
            for start, end in treatment.preferred_hours:
                for profile_name, profile in contact_policy.profiles.items():
                    window_start, window_end = profile.allowed_window
                    if start < window_start or end > window_end:
                        raise ConfigFileError(
                            path, f"treatments.{name}.preferred_hours",
                            f"{start:%H:%M}-{end:%H:%M} is outside the {profile_name!r} contact window "
                            f"{window_start:%H:%M}-{window_end:%H:%M}")
        return self


def load_strategy(path: Path | str = STRATEGY_PATH, contact_policy: ContactPolicyConfig | None = None) -> Strategy:
    strategy = load_yaml_model(path, Strategy)
    return strategy.check_against(contact_policy or load_contact_policy(), path)
