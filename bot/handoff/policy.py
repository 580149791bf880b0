"""The handoff policy (bot/handoff.yml): priorities per reason and the gateway-side triggers."""
from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from configuration.files import load_yaml_model

DEFAULT_POLICY_FILE = Path(__file__).resolve().parents[1] / "handoff.yml"
REQUIRED_REASONS = (
    "distress", "dispute", "compliance_blocked", "requested", "legal_stage", "nlu_fallback", "large_balance",
)


class HandoffPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    priorities: dict[str, int]
    compliance_blocks_before_handoff: int = Field(ge=1)
    large_balance_cents: int | None = Field(default=None, gt=0)
    legal_stage_days_past_due: int | None = Field(default=None, gt=0)

    @field_validator("priorities")
    @classmethod
    def _every_reason(cls, value: dict[str, int]) -> dict[str, int]:
        missing = [reason for reason in REQUIRED_REASONS if reason not in value]
        if missing:
            raise ValueError(f"missing reasons: {', '.join(missing)}")
        negative = [reason for reason, priority in value.items() if priority < 0]
        if negative:
            raise ValueError(f"priorities must be 0 or more: {', '.join(negative)}")
        return value

    def priority(self, reason: str) -> int:
        """A reason this file does not list (an action newer than the policy) waits behind every listed one."""
        return self.priorities.get(reason, max(self.priorities.values()) + 1)


def load_handoff_policy(path: Path = DEFAULT_POLICY_FILE) -> HandoffPolicy:
    return load_yaml_model(path, HandoffPolicy)
