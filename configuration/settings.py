"""One settings object for every process, in sections, from the environment.

Each field is `COLLECTIONS_<SECTION>_<NAME>` (e.g. COLLECTIONS_VOICE_ASR_MODEL,
COLLECTIONS_LEDGER_DATABASE_URL, COLLECTIONS_HANDOFF_WAIT_TIMEOUT_SECONDS); `REDIS_URL` is shared
with the rest of a deployment under its usual name. Secrets come from the environment, never argv.
The files named here are read and validated when a process starts (bot.services, actions.services).
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from limits import parse_many
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[1]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def exact_origin(origin: str) -> str:
    parsed = urlsplit(origin)
    if parsed.scheme not in ("http", "https") or not parsed.hostname or "*" in origin \
            or origin != f"{parsed.scheme}://{parsed.netloc}":
        raise ValueError(f"{origin!r} is not an exact origin like https://www.lender.example "
                         "(scheme and host, optional port; no path, no trailing slash, no wildcard)")
    return origin


class GatewaySettings(Section):
    max_message_chars: int = Field(default=500, ge=1)
    fixed_now: datetime | None = Field(
        default=None, description="Freeze the conversation clock (tests, demos); ISO 8601 with offset")
    webchat_cors_origins: list[str] = Field(
        default_factory=list, description="Sites allowed to embed the web chat widget (same origin when empty)")
    fault_reply_text: str = Field(
        default="抱歉，系统暂时繁忙，请稍后再试，您的消息我们已经记录。",
        description="Said when Rasa or the action server fails or is slow; the borrower's words are already recorded")
    fault_reply_text_en: str = Field(
        default="Sorry, the system is busy right now. Please try again shortly; we have your message.",
        description="fault_reply_text for a conversation in English")
    unavailable_reply_text: str = Field(
        # Storage is down, so the conversation's language cannot be read: both languages.
        default="抱歉，系统暂时繁忙，您的消息未能送达，请稍后再发一次。Sorry, the system is busy and your message "
                "didn't get through. Please send it again shortly.",
        description="Said when the gateway's storage (Redis) is down: nothing could be recorded, so it says so")
    turn_result_ttl_seconds: int = Field(
        default=24 * 3600, ge=60, description="How long a client turn id (Idempotency-Key) returns its first reply")
    link_key: SecretStr | None = Field(
        default=None, description="HMAC key of borrower links and web chat sessions (at least 16 characters); "
                                  "link_key_file when unset")
    link_key_file: Path = Field(
        default=ROOT / "var" / "link.key", description="Created (random, mode 0600) on first start when missing")
    payments_api_key: SecretStr | None = Field(
        default=None, description="The lender's bearer key for /api/payments (at least 16 characters); "
                                  "payments_api_key_file when unset")
    payments_api_key_file: Path = Field(
        default=ROOT / "var" / "payments.key",
        description="Created (random, mode 0600) on first start when missing; the lender sends its content as "
                    "Authorization: Bearer")

    @field_validator("webchat_cors_origins")
    @classmethod
    def _exact_origins(cls, origins: list[str]) -> list[str]:
        return [exact_origin(origin) for origin in origins]

    # Resource limits. A message over a rate limit is refused with an error the client sees (429 with
    # Retry-After over REST, an error event on sockets), never dropped. Notation of the `limits` library:
    # "30/minute", or several at once: "5/10 seconds;30/minute". Shared through Redis when REDIS_URL is set.
    messages_per_client: str = Field(
        default="120/minute;20/10 seconds",
        description="Borrower messages from one client address, over all its conversations and channels")
    messages_per_conversation: str = Field(
        default="30/minute;6/10 seconds", description="Borrower messages in one conversation (a WeChat user's)")
    opens_per_client: str = Field(default="20/minute;200/day", description="Conversations opened from one client address")
    max_sockets_per_client: int = Field(
        default=30, ge=1, description="Open chat sockets (WebSocket, Socket.IO) from one client address, per gateway")
    max_turns_per_conversation: int = Field(
        default=100, ge=1, description="Borrower turns the bot takes in one conversation; then it closes politely "
                                       "(Rasa's turns slow as its tracker grows: benchmarks/long_conversation.py)")
    ws_max_message_bytes: int = Field(
        default=65_536, ge=1024, description="Larger WebSocket messages close the socket (1009) unread; "
                                             "uvicorn's --ws-max-size and Engine.IO's max_http_buffer_size")
    max_request_body_bytes: int = Field(default=65_536, ge=1024, description="Larger HTTP bodies get 413 unread")
    memory_store_max_conversations: int = Field(
        default=10_000, ge=1, description="Without Redis: conversations kept in memory; the least recently used go first")

    @field_validator("messages_per_client", "messages_per_conversation", "opens_per_client")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        parse_many(value)  # ValueError naming the notation it could not read
        return value

    @field_validator("fixed_now")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("COLLECTIONS_GATEWAY_FIXED_NOW needs a UTC offset, e.g. 2026-11-23T10:00:00+08:00")
        return value


class RasaSettings(Section):
    url: str = Field(default="http://127.0.0.1:5005",
                     description="Rasa's address, or its replicas' separated by commas (turns go round-robin; replicas "
                                 "must share a Redis tracker and lock store: endpoints.redis.yml)")
    token: str = Field(default="", description="Rasa's --auth-token, for its HTTP API")
    timeout_seconds: float = Field(default=30.0, gt=0, description="Longest wait for a turn; a later answer is lost")
    reply_wait_seconds: float = Field(
        default=10.0, gt=0, description="A borrower waits this long, then hears the fault reply; the turn goes on "
                                        "and its reply is pushed when it comes (up to timeout_seconds)")
    circuit_failure_threshold: int = Field(
        default=5, ge=1, description="Consecutive failed turns that open the circuit: then the fault reply at once")
    circuit_cooldown_seconds: float = Field(
        default=30.0, gt=0, description="An open circuit lets one turn through to probe Rasa after this long")

    @property
    def urls(self) -> list[str]:
        return [url.strip() for url in self.url.split(",") if url.strip()]


class ActionServerSettings(Section):
    """The rasa-sdk action server (python -m actions). Only Rasa may call it: it listens on loopback unless a
    private network is named here, and refuses every request without the shared token."""

    host: str = Field(default="127.0.0.1", description="A private-network address when Rasa runs on another host")
    port: int = Field(default=5055, ge=1, le=65535)
    token: SecretStr | None = Field(
        default=None, description="Shared with Rasa only (endpoints.yml sends it); the server will not start without it")


class LedgerSettings(Section):
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; a SQLite file under var/ when unset")
    policy_file: Path = ROOT / "ledger" / "policy.yml"

    def url(self) -> str:
        if self.database_url:
            return self.database_url
        (ROOT / "var").mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{ROOT / 'var' / 'ledger.sqlite3'}"


class AuditSettings(Section):
    retention_days: int = Field(default=3 * 365, ge=1)
    key: SecretStr | None = Field(
        default=None, description="HMAC key of the audit chain (at least 16 characters); key_file when unset")
    key_file: Path = Field(
        default=ROOT / "var" / "audit.key", description="Created (random, mode 0600) on first start when missing")
    anchor_file: Path = Field(
        default=ROOT / "var" / "audit.anchor", description="Signed head and purge floor of the chain (bot.audit_seal)")


class RecordingSettings(Section):
    """Call recordings (bot.recordings): both sides of every voice call, Ogg/Opus, kept as long as the audit."""

    enabled: bool = Field(
        default=True, description="Off: calls are not recorded, and the greeting on a call does not say they are")
    directory: Path = Field(default=ROOT / "var" / "recordings", description="Where the recording files are written")
    retention_days: int = Field(
        default=3 * 365, ge=1, description="Deleted (row and file) by `python -m bot.audit purge` after this long")


class ComplianceSettings(Section):
    contact_policy_file: Path = ROOT / "compliance_filters" / "contact_policy.yml"


# An agent line: a phone number, a SIP address, a Twilio queue or a conference (bot.channels.call_transfer).
AGENT_LINE = r"^(\+[1-9]\d{6,14}|sips?:[^\s<>&]{3,250}|(queue|conference):[A-Za-z0-9_.-]{1,64})$"


class HandoffSettings(Section):
    policy_file: Path = Field(default=ROOT / "bot" / "handoff.yml", description="Triggers and priorities")
    wait_timeout_seconds: float = Field(default=300.0, gt=0, description="Untaken this long: offer a callback")
    check_interval_seconds: float = Field(default=1.0, gt=0)
    agent_line: str | None = Field(
        default=None, pattern=AGENT_LINE,
        description="Where a phone call handed to a person is transferred through the carrier (Twilio): an E.164 "
                    "number (+861012345678), a SIP address (sip:agents@pbx.example), queue:NAME (a Twilio queue) or "
                    "conference:NAME. Needs COLLECTIONS_DIALER_ACCOUNT_SID and COLLECTIONS_VOICE_TWILIO_AUTH_TOKEN. "
                    "Unset (or the carrier refusing): the caller is told when a callback is booked")


class ConsoleSettings(Section):
    session_ttl_seconds: int = Field(default=8 * 3600, ge=60)
    cookie_secure: bool = Field(default=False, description="Set behind HTTPS so the session cookie is never sent in clear")
    max_failed_sign_ins: int = Field(
        default=10, ge=1, description="Per client address and account name, then 429 from that address for the window")
    max_failed_sign_ins_per_address: int = Field(
        default=30, ge=1, description="Per client address across all names (an office behind one NAT shares it)")
    failed_sign_in_window_seconds: int = Field(default=900, ge=1)
    password_hash_workers: int = Field(
        default=2, ge=1, description="Threads checking argon2 hashes; sign-ins beyond them wait, nothing else does")


class WeChatSettings(Section):
    """The WeChat Official Account channel (/wechat/callback): on when `token` is set."""

    token: SecretStr | None = Field(default=None, description="The Token set in the WeChat console")
    app_id: str | None = None
    app_secret: SecretStr | None = Field(
        default=None, description="Needed for customer-service messages (replies slower than the passive budget)")
    encoding_aes_key: SecretStr | None = Field(
        default=None, description="EncodingAESKey: when set, safe mode (encrypted messages) is required")
    api_base: str = "https://api.weixin.qq.com"
    max_timestamp_skew_seconds: int = Field(default=300, ge=1)
    passive_reply_budget_seconds: float = Field(default=4.0, gt=0, lt=5)
    borrower_reference_pattern: str = Field(
        default=r"^B\d{6}$", description="What an unbound WeChat user must send to start a conversation")
    max_reference_attempts_per_day: int = Field(default=5, ge=1)


# Which short-window ASR results are decoded again with the careful window (VoiceSettings.asr_careful_redecode).
CarefulRedecode = Literal["off", "id_answer", "numbers"]


class VoiceSettings(Section):
    # Phone arrival (/voice/twilio/incoming, /voice/twilio): off until the carrier's auth token is set
    twilio_auth_token: SecretStr | None = Field(
        default=None, description="The Twilio account's auth token: every webhook and media stream must carry "
                                  "its signature (X-Twilio-Signature); phone calls are refused while unset")
    public_url: str | None = Field(
        default=None, description="The https://host[:port] the carrier reaches the gateway at (behind a proxy); "
                                  "signatures are checked against it. Unset: the request's own scheme and host")
    default_phone_region: str = Field(
        default="CN", pattern=r"^[A-Z]{2}$", description="Region of ledger phone numbers written without +country")
    call_token_seconds: int = Field(
        default=300, ge=10, le=3600, description="How long the media stream of an answered call may take to start")

    # ASR
    asr_engine: Literal["faster_whisper"] = "faster_whisper"
    asr_model: str = Field(
        default="base",
        description="'base' = the embedded Whisper base from PyPI; otherwise a path to a CTranslate2 Whisper model "
                    "directory (small, medium, large-v3 converted for faster-whisper)",
    )
    asr_model_cache: Path = ROOT / "var" / "models"
    asr_device: Literal["cpu", "cuda", "auto"] = "cpu"
    asr_compute_type: str = Field(default="int8", description="int8 on CPU; float16 on GPU")
    asr_language: str = "zh"
    asr_cpu_threads: int = Field(default=2, ge=1)
    asr_workers: int = Field(default=2, ge=1, description="Concurrent decodes; each runs off the event loop")
    asr_beam_size: int = Field(default=1, ge=1, le=10)
    asr_padding_seconds: float = Field(
        default=5.0, ge=0.5, le=30,
        description="Silence after the utterance that Whisper's encoder sees, instead of its fixed 30 s window: the "
                    "encoder's time grows with it (benchmarks/asr_accuracy.py --padding); 30: the full window")
    asr_careful_redecode: CarefulRedecode = Field(
        default="id_answer",
        description="Which short-window results the ASR engine decodes again with the careful window "
                    "(asr_numbers_padding_seconds): the ID answer's words (id_answer: the short window hears d03's "
                    "\"三八二一\" as \"381\"), also any digits, date or weekday (numbers), or none (off); a result that "
                    "repeats itself too, unless off. After the ID question a call asks for the careful window at "
                    "once. Files, the CLI and calls alike (faster_whisper_engine.FasterWhisperEngine)")
    asr_numbers_padding_seconds: float = Field(
        default=15.0, ge=0.5, le=30,
        description="The careful window: silence after the utterance its encoder sees (30: Whisper's whole window). "
                    "d03's ID answer \"三八二一\" needs 12 s or more; 15 s costs half the CPU of 30 s "
                    "(benchmarks/asr_accuracy.py --numbers-padding, benchmarks/voice_latency.py)")
    asr_biasing: Literal["none", "prompt", "hotwords", "prompt+hotwords"] = Field(
        default="prompt", description="How the domain vocabulary steers decoding (benchmarks/asr_accuracy.py)")
    asr_min_avg_logprob: float = Field(default=-1.2, le=0, description="Below this mean log-prob → rejected")
    asr_no_speech_threshold: float = Field(default=0.6, ge=0, le=1)
    confirm_values_below_confidence: float = Field(
        default=0.8, ge=0, le=1,
        description="A number heard with less ASR confidence than this is read back before it is acted on (1: always)")

    # TTS
    tts_engine: Literal["espeak", "piper", "coqui"] = "espeak"
    tts_model_path: Path | None = Field(default=None, description="Piper .onnx voice or Coqui model directory")
    tts_cache_entries: int = Field(default=256, ge=0)
    tts_cache_dir: Path | None = Field(default=None, description="Also keep rendered templates on disk (e.g. var/tts-cache)")
    tts_espeak_words_per_minute: int = Field(default=160, ge=80, le=450)
    tts_speaker: str | None = Field(default=None, description="Speaker of a multi-speaker Coqui model")

    # Turn-taking
    vad_aggressiveness: int = Field(default=2, ge=0, le=3)
    end_of_turn_silence_ms: int = Field(default=500, ge=100, le=5000)
    speculative_asr_after_ms: int = Field(
        default=200, ge=0, le=5000,
        description="Start decoding after this much silence, before the turn is known to be over (0: off); "
                    "the result is used if the turn ends without more speech, discarded otherwise")
    end_turn_on_complete_answer: bool = Field(
        default=True, description="A turn whose early decode already answers what was asked (the four ID digits, a "
                                  "clear yes or no) ends then, without the rest of the end-of-turn silence")
    max_utterance_seconds: float = Field(default=15.0, gt=1)
    reprompt_after_silence_seconds: float = Field(default=8.0, gt=0)
    max_silent_reprompts: int = Field(default=2, ge=0)
    barge_in_min_speech_ms: int = Field(
        default=240, ge=20, le=2000, description="Voiced speech over the bot's audio that stops its playback")
    unknown_caller_text: str = Field(
        default="您好，这里是客户服务热线。系统无法识别您的来电号码，请使用您预留的手机号码来电，或通过官方渠道联系我们。再见。",
        description="Said (by the carrier) to a caller whose number is on no file; names no one and no debt")

    @field_validator("public_url")
    @classmethod
    def _public_origin(cls, url: str | None) -> str | None:
        return None if url is None else exact_origin(url)


class MessengerSettings(Section):
    """Chat reminders (campaigns.messenger): an invitation and a signed link into the web chat, never a debt detail.
    SMS goes through Twilio's Messages API when the account sid, auth token and sender are set; WeChat as a template
    message when the WeChat app id/secret and `wechat_template_id` are set; a channel without its provider goes to
    the demo inbox (/demo/inbox)."""

    chat_page_url: str = Field(
        default="http://127.0.0.1:8000/demo/webchat",
        description="The web chat page a borrower's link opens; the signed link is added as ?link=")
    link_hours: float = Field(default=72.0, gt=0, le=30 * 24, description="How long an invitation's link admits")
    wording_file: Path = Field(
        default=ROOT / "campaigns" / "invitations.yml", description="The invitation texts, per purpose, zh and en")
    sms_api_base: str = Field(default="https://api.twilio.com", description="Twilio's REST API (a fake in tests)")
    sms_account_sid: str | None = Field(default=None, description="Twilio account SID (AC…)")
    sms_auth_token: SecretStr | None = Field(default=None, description="Twilio auth token (basic auth with the SID)")
    sms_from: str | None = Field(default=None, description="Sender: an E.164 number or a Messaging Service SID (MG…)")
    wechat_template_id: str | None = Field(
        default=None, description="Template message id from the WeChat console; WeChat reminders are off while unset")
    wechat_template_field: str = Field(
        default="content", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,31}$",
        description="The template's field ({{content.DATA}}) that carries the invitation text")
    timeout_seconds: float = Field(default=10.0, gt=0, le=60, description="Longest wait for a provider's answer")

    @field_validator("chat_page_url", "sms_api_base")
    @classmethod
    def _web_address(cls, url: str) -> str:
        parsed = urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname or parsed.fragment:
            raise ValueError(f"{url!r} is not an http(s) address")
        return url

    def sms_configured(self) -> bool:
        return bool(self.sms_account_sid and self.sms_auth_token is not None and self.sms_from)


class CampaignSettings(Section):
    strategy_file: Path = ROOT / "campaigns" / "strategy.yml"
    redis_url: str | None = Field(
        default=None, description="The campaign worker's Redis (job queue, contact-policy caps, locks); REDIS_URL "
        "when unset. The launcher starts a private redis-server when neither is set (scripts/redis.sh)")
    tick_seconds: int = Field(default=60, ge=5, le=3600,
                              description="How often the worker looks for borrowers due a contact")
    max_concurrent_contacts: int = Field(default=20, ge=1, le=1000,
                                         description="Contacts one worker process places at the same time")
    review_fill_hour: int = Field(default=2, ge=0, le=23,
                                  description="The hour (Asia/Shanghai, the review office's days) at which the worker's "
                                  "scheduler fills the quality-review queue with the last two days' conversations")

    def broker_url(self, fallback: str | None) -> str:
        url = self.redis_url or fallback
        if not url:
            raise ValueError("the campaign worker needs Redis: set COLLECTIONS_CAMPAIGNS_REDIS_URL or REDIS_URL")
        return url


E164 = r"^\+[1-9]\d{6,14}$"


class DialerSettings(Section):
    """Outbound calls through Twilio's REST API (campaigns.twilio_dialer): on when account_sid and from_number
    are set, with COLLECTIONS_VOICE_TWILIO_AUTH_TOKEN and COLLECTIONS_VOICE_PUBLIC_URL (where the carrier asks
    what to do with an answered call and reports how it went)."""

    account_sid: str | None = Field(default=None, pattern=r"^AC[0-9a-fA-F]{32}$", description="The Twilio account")
    from_number: str | None = Field(default=None, pattern=E164, description="Caller id: a number of the account, E.164")
    api_base: str = Field(default="https://api.twilio.com", description="Twilio's REST API (a fake in tests)")
    machine_policy: Literal["hang_up", "leave_message"] = Field(
        default="hang_up", description="On an answering machine: hang up, or leave machine_message_text after the "
                                       "greeting (limited content: no creditor, no debt) and hang up")
    machine_message_text: str = Field(
        default="您好，这里是客户服务中心，请您方便时回电，谢谢。",
        description="Left on a machine of a borrower in Chinese; must pass the compliance filter before verification")
    machine_message_text_en: str = Field(
        default="Hello, this is a message from the customer service center. Please call us back when convenient. "
                "Thank you.", description="machine_message_text for a borrower in English")
    max_concurrent_calls: int = Field(
        default=4, ge=1, description="Calls up at once across every worker (Redis slots): what the voice pipeline "
                                     "(ASR workers, TTS) carries; place_call raises DialerBusy beyond it")
    max_call_seconds: int = Field(
        default=1800, ge=60, le=4 * 3600,
        description="A call's slot is freed by its final status callback, or after this long if that never comes")
    ring_seconds: int = Field(default=30, ge=5, le=600, description="Twilio's Timeout: how long to let it ring")
    request_timeout_seconds: float = Field(default=10.0, gt=0, description="Longest wait for Twilio's REST API")

    @field_validator("api_base")
    @classmethod
    def _api_origin(cls, url: str) -> str:
        return exact_origin(url)

    @property
    def enabled(self) -> bool:
        return self.account_sid is not None and self.from_number is not None


class MetricsSettings(Section):
    """Prometheus /metrics on the gateway and on the campaign worker (bot.metrics_endpoint), both behind one bearer
    token: Prometheus sends it with `authorization: {credentials_file: var/metrics.key}`."""

    token: SecretStr | None = Field(
        default=None, description="The scraper's bearer token (at least 16 characters); token_file when unset")
    token_file: Path = Field(
        default=ROOT / "var" / "metrics.key",
        description="Created (random, mode 0600) on first start when missing; Prometheus sends its content as "
                    "Authorization: Bearer")
    worker_host: str = Field(
        default="127.0.0.1", description="Where the campaign worker serves /metrics: this host only unless changed")
    worker_port: int = Field(default=9464, ge=1, le=65535, description="The campaign worker's /metrics port")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="COLLECTIONS_", env_nested_delimiter="_", env_nested_max_split=1, extra="ignore", frozen=True,
    )

    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    gateway: GatewaySettings = GatewaySettings()
    rasa: RasaSettings = RasaSettings()
    actions: ActionServerSettings = ActionServerSettings()
    ledger: LedgerSettings = LedgerSettings()
    audit: AuditSettings = AuditSettings()
    recordings: RecordingSettings = RecordingSettings()
    compliance: ComplianceSettings = ComplianceSettings()
    handoff: HandoffSettings = HandoffSettings()
    console: ConsoleSettings = ConsoleSettings()
    wechat: WeChatSettings = WeChatSettings()
    voice: VoiceSettings = VoiceSettings()
    campaigns: CampaignSettings = CampaignSettings()
    messenger: MessengerSettings = MessengerSettings()
    dialer: DialerSettings = DialerSettings()
    metrics: MetricsSettings = MetricsSettings()

    def wechat_reminders_configured(self) -> bool:
        return bool(self.wechat.app_id and self.wechat.app_secret is not None and self.messenger.wechat_template_id)

    def contact_providers(self) -> list[str]:
        """The real providers that reach borrowers, by the setting that turns each on. Empty: the demo, where calls
        ring on /demo/phone and reminders land in /demo/inbox; otherwise no demo provider, page or borrower is used
        (a channel without its provider sends nothing)."""
        configured = []
        if self.dialer.enabled:
            configured.append("calls (COLLECTIONS_DIALER_ACCOUNT_SID)")
        if self.messenger.sms_configured():
            configured.append("SMS (COLLECTIONS_MESSENGER_SMS_ACCOUNT_SID)")
        if self.wechat_reminders_configured():
            configured.append("WeChat (COLLECTIONS_MESSENGER_WECHAT_TEMPLATE_ID)")
        return configured

    @property
    def demo(self) -> bool:
        """No real provider configured: every contact goes to a demo provider (Settings.contact_providers)."""
        return not self.contact_providers()
