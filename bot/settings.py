"""Gateway configuration: one typed object, from the environment, validated at start."""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COLLECTIONS_", extra="ignore")

    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = Field(default="", description="Rasa's --auth-token, for reading tracker slots")
    rasa_timeout_seconds: float = 30.0
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    max_message_chars: int = 500
    fixed_now: datetime | None = Field(
        default=None, description="Freeze the conversation clock (tests, demos); ISO 8601 with offset"
    )
    default_timezone: str = "Asia/Shanghai"

    @field_validator("fixed_now")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("COLLECTIONS_FIXED_NOW needs a UTC offset, e.g. 2026-11-23T10:00:00+08:00")
        return value


@lru_cache(maxsize=1)
def settings() -> GatewaySettings:
    return GatewaySettings()
