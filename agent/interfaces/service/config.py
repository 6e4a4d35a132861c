"""Typed settings of the HTTP service, read once from the environment (``TILLER_*``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from agent.errors import ConfigError


class ServiceSettings(BaseSettings):
    """Gateway limits and shared infrastructure; the runtime's own settings are ``agent.config``."""

    model_config = SettingsConfigDict(env_prefix="TILLER_", frozen=True, extra="ignore")

    redis_url: str | None = Field(
        None, description="share rate limits and event streams between processes through Redis"
    )
    rate_per_minute: int = Field(120, ge=1, description="requests per minute per API key (default for new keys)")
    max_concurrent_runs: int = Field(4, ge=1, description="runs in progress at once per API key")
    max_message_chars: int = Field(8000, ge=1, description="longest chat message accepted")
    max_body_bytes: int = Field(256 * 1024, ge=1024, description="largest request body accepted")
    session_secret: str | None = Field(
        None, description="signs the web pages' session cookie; default: a secret generated once per database"
    )
    session_max_age_s: int = Field(8 * 3600, ge=60, description="lifetime of a web session")
    secure_cookies: bool = Field(False, description="mark session cookies Secure (serve over HTTPS)")
    run_threads: int = Field(16, ge=1, description="worker threads that execute runs in one process")
    follow_timeout_s: float = Field(300.0, gt=0, description="how long a thread event stream waits for news")
    workflow_executor: Literal["inline", "queue"] = Field(
        "inline", description="API workflow runs: in this process, or queued for `tiller worker` processes"
    )


def load_service_settings(**overrides: Any) -> ServiceSettings:
    """Service settings from the environment (plus overrides); a bad value names its variable."""
    try:
        return ServiceSettings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"TILLER_{'.'.join(map(str, e['loc'])).upper()}: {e['msg']} (got {e.get('input')!r})" for e in exc.errors()
        )
        raise ConfigError("invalid service configuration: " + problems) from None
