"""Gateway configuration: one typed object, from the environment, validated at start."""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.handoff.policy import DEFAULT_POLICY_FILE as DEFAULT_HANDOFF_POLICY_FILE


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

    # WeChat Official Account channel (/wechat/callback): enabled when wechat_token is set.
    wechat_token: SecretStr | None = Field(default=None, description="The Token set in the WeChat console")
    wechat_app_id: str | None = None
    wechat_app_secret: SecretStr | None = Field(
        default=None, description="Needed for customer-service messages (replies slower than the passive budget)"
    )
    wechat_encoding_aes_key: SecretStr | None = Field(
        default=None, description="EncodingAESKey: when set, safe mode (encrypted messages) is required"
    )
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_max_timestamp_skew_seconds: int = Field(default=300, ge=1)
    wechat_passive_reply_budget_seconds: float = Field(default=4.0, gt=0, lt=5)
    wechat_borrower_reference_pattern: str = Field(
        default=r"^B\d{6}$", description="What an unbound WeChat user must send to start a conversation"
    )
    wechat_max_reference_attempts_per_day: int = Field(default=5, ge=1)

    # Human handoff and the agent console (/console)
    handoff_policy_file: Path = Field(default=DEFAULT_HANDOFF_POLICY_FILE, description="Triggers and priorities (bot/handoff.yml)")
    handoff_wait_timeout_seconds: float = Field(default=300.0, gt=0, description="Untaken this long: offer a callback")
    handoff_check_interval_seconds: float = Field(default=1.0, gt=0)
    console_session_ttl_seconds: int = Field(default=8 * 3600, ge=60)
    console_cookie_secure: bool = Field(default=False, description="Set behind HTTPS so the session cookie is never sent in clear")
    console_max_failed_sign_ins: int = Field(default=10, ge=1, description="Per account name, then 429 for the window")
    console_failed_sign_in_window_seconds: int = Field(default=900, ge=1)

    @field_validator("fixed_now")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("COLLECTIONS_FIXED_NOW needs a UTC offset, e.g. 2026-11-23T10:00:00+08:00")
        return value


@lru_cache(maxsize=1)
def settings() -> GatewaySettings:
    return GatewaySettings()
