"""The handoff policy (bot/handoff.yml): priorities per reason and the gateway-side triggers."""
from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

DEFAULT_POLICY_FILE = Path(__file__).resolve().parents[1] / "handoff.yml"
REQUIRED_REASONS = (
    "distress", "dispute", "compliance_blocked", "requested", "legal_stage", "nlu_fallback", "large_balance",
)


class HandoffPolicyError(ValueError):
    pass


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

    def priority(self, reason: str, default: int) -> int:
        return self.priorities.get(reason, default)


def load_handoff_policy(path: Path = DEFAULT_POLICY_FILE) -> HandoffPolicy:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise HandoffPolicyError(f"{path}: cannot read: {error}") from error
    if not isinstance(raw, dict):
        raise HandoffPolicyError(f"{path}: expected a mapping at the top level")
    try:
        return HandoffPolicy.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in error.errors())
        raise HandoffPolicyError(f"{path}: {problems}") from error
