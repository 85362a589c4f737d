"""Secrets kept in Prefect: the SMTP password may live in a Prefect Secret block instead of
the environment.  Only the Prefect side reads blocks; the library receives the password in
its settings (a ``SecretStr``, never printed) and never imports Prefect."""

from __future__ import annotations

from pydantic import SecretStr

from receivables.errors import ConfigError
from receivables.settings import Settings


def with_smtp_password(settings: Settings) -> Settings:
    """The settings with the password of the Secret block named by ``smtp_password_block``
    filled in (when no password is set directly); unchanged otherwise."""
    if settings.smtp_password is not None or not settings.smtp_password_block:
        return settings
    from prefect.blocks.system import Secret

    try:
        # _sync: called from sync flow code; never hand back a coroutine
        value = Secret.load(settings.smtp_password_block, _sync=True).get()
    except Exception as exc:  # any reason the block is unusable; the message names no secret
        raise ConfigError(
            f"The Prefect Secret block {settings.smtp_password_block!r} holding the SMTP password "
            f"cannot be loaded ({type(exc).__name__})."
        ) from None
    return settings.model_copy(update={"smtp_password": SecretStr(str(value))})
