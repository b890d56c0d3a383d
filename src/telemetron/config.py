"""Settings, read once from the environment (prefix ``TELEMETRON_``) or a ``.env`` file."""

from functools import lru_cache

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TELEMETRON_", env_file=".env", extra="ignore")

    # SQLite file by default: one command, no server to install. A postgresql:// URL switches
    # to PostgreSQL (the psycopg 3 driver is chosen for it).
    database_url: str = "sqlite:///telemetron.db"
    # Connections (and so threads running units of work) per process on PostgreSQL.
    # SQLite always uses one writer thread: SQLite serialises writers anyway.
    db_pool_size: int = 16

    # Protects the server: bodies past this size get a 413 before they are parsed.
    max_body_bytes: int = 1024 * 1024
    max_messages: int = 1000
    # A message's or a description's size in UTF-8 (64 KiB), not its characters: an emoji is 4 bytes.
    max_text_bytes: int = 64 * 1024
    # Idempotency keys are honoured for at least this long, then purged.
    idempotency_ttl_hours: int = 24

    # Deliver notifications from inside `telemetron serve` (one worker per process). Turn off when
    # separate `telemetron worker` processes do the delivering.
    run_worker: bool = True
    # How long a worker's claim on a message lasts: a worker killed mid-delivery delays that
    # message by at most this much. Must exceed the delivery timeout.
    outbox_lease_seconds: float = 60
    outbox_poll_seconds: float = 0.2
    outbox_delivery_timeout_seconds: float = 10
    outbox_concurrency: int = 32
    # First retry after 1-2 x this, doubling each time (capped at an hour), for 24 hours.
    outbox_retry_base_seconds: float = 2
    # Delivered notifications (and their attempts) are kept this long for `telemetron outbox
    # list`, then purged; failed ones stay until retried.
    outbox_keep_days: float = 7
    # While the API wants more than half a core, the worker inside `telemetron serve` delivers
    # nothing for this many seconds, then at most outbox_busy_rate messages a second (0: none
    # until the load drops); the rest
    # waits and drains at full speed when the load drops: under saturation, ticket intake comes
    # first. `telemetron worker` never holds back.
    outbox_busy_hold_seconds: float = 10
    outbox_busy_rate: float = 20

    # Load the categorizer's embedding model at start-up rather than with the first ticket that
    # needs it (~250 MB more memory, ~0.5 s less on that first ticket).
    triage_preload: bool = False

    # Optional LLM categorizer: any OpenAI-compatible chat-completions endpoint (triage/llm.py).
    triage_llm_base_url: str | None = None
    triage_llm_model: str | None = None
    triage_llm_api_key: str | None = None
    triage_llm_timeout_seconds: float = 5.0

    log_level: str = "info"

    # Failed sign-ins allowed from one client address per window (a NAT'd office shares one
    # address: keep it well above what one person mistypes). A success gives its attempt back.
    signin_address_limit: int = 50
    signin_address_window_seconds: float = 600
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto `serve` believes (comma-separated
    # addresses or networks; empty: none). Anyone else's are ignored.
    trusted_proxies: str = "127.0.0.1"
    # Requests per API key, in the `limits` library's notation (several windows separated by ';');
    # "off" disables rate limiting. A per-organization value: `telemetron org rate-limit`.
    rate_limit: str = "100/second;3000/minute"
    # Redis shared by every process (rate-limit counters); unset: each process counts in its memory.
    redis_url: str | None = None
    redis_key_prefix: str = "telemetron"
    # One JSON line per request to stdout (observability/http.py).
    access_log: bool = True
    # When set, /metrics wants `Authorization: Bearer <token>`; unset, anyone who reaches it may scrape.
    metrics_token: str | None = None

    @field_validator("rate_limit")
    @classmethod
    def _valid_rate_limit(cls, value: str) -> str:
        from telemetron.ratelimit.policy import parse_policy

        try:
            parse_policy(value)
        except Exception as exc:  # an AppError: pydantic wants a ValueError to report it
            raise ValueError(str(exc)) from None
        return value
    # Encrypts mailbox credentials at rest (telemetron.mail.secrets_box); required to add a mailbox.
    secret_key: str | None = None
    # Email attachments and raw mails are files under this folder (default: "attachments" beside
    # the SQLite database, or in the working directory for PostgreSQL).
    attachments_dir: str | None = None
    # A raw mail past this size is refused (413); an attachment past the other is listed as
    # dropped, not stored.
    mail_max_message_bytes: int = 25 * 1024 * 1024
    mail_max_attachment_bytes: int = 10 * 1024 * 1024
    # New tickets one sender may open by email per hour (a loop or a flood stops there).
    mail_new_tickets_per_sender_per_hour: int = 20
    # IMAP mailboxes are polled this often when the server offers no IDLE (and IDLE is renewed).
    mail_poll_seconds: float = 30


@lru_cache
def get_settings() -> Settings:
    return Settings()
