"""Typed settings: a YAML file (``--config``) and the environment, the environment wins.

Names are part of the contract (SPEC "Settings"): ``RECEIVABLES_DB_URL``,
``RECEIVABLES_MAIL_MODE``, ``RECEIVABLES_SMTP_*`` and friends.  The SMTP password is a
``SecretStr`` so it never prints in a log line, a repr or an artifact.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from receivables.errors import ConfigError

MailMode = Literal["preview", "redirect", "send"]

#: bare PostgreSQL URL schemes and the driver this project installs (psycopg 3)
_BARE_POSTGRES = ("postgresql://", "postgres://")


def sqlalchemy_url(url: str) -> str:
    """The URL with its PostgreSQL driver named: SQLAlchemy 2.0 (pinned for Prefect's
    server) reads a bare ``postgresql://`` as psycopg2, which is not installed; users write
    the bare form, so it means psycopg 3 here.  Any other URL is returned as it is."""
    stripped = url.strip()
    for scheme in _BARE_POSTGRES:
        if stripped.lower().startswith(scheme):
            return "postgresql+psycopg://" + stripped[len(scheme) :]
    return stripped


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RECEIVABLES_", extra="forbid")

    db_url: str = "sqlite:///receivables.db"
    base_currency: str = "EUR"
    #: unset means ``preview`` unless SMTP is configured, then ``send``
    mail_mode: MailMode | None = None
    outbox_dir: Path = Path("outbox")
    redirect_to: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    #: name of a Prefect Secret block holding the SMTP password instead of the environment
    smtp_password_block: str | None = None
    smtp_starttls: bool = True
    smtp_ssl: bool = False
    mail_from: str | None = None
    archive_dir: Path = Path("archive")
    #: the run's Excel workbook and charts go to <reports_dir>/<as_of>/
    reports_dir: Path = Path("reports")
    #: where users open the reports folder (an http share, S3, SharePoint), e.g.
    #: ``https://files.example.com/ar-reports``: artifacts link to ``<url>/<as_of>/<file>``;
    #: unset, they show the absolute path as text only
    reports_base_url: str | None = None
    #: the team's configuration folder (companies, policies, mappings, templates ...); what
    #: it lacks comes from the defaults shipped with the package
    config_dir: Path | None = None
    #: ERP column mapping: a name in the configuration folder's mappings/ or a YAML path
    mapping: str = "canonical"
    #: folders (or URL prefixes) extracts may be read from; empty = anywhere
    extract_roots: list[str] = Field(default_factory=list)
    #: processes that render reminder emails (a go-live night has 10^4-10^5 letters)
    render_workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, le=64)

    @field_validator("db_url")
    @classmethod
    def _postgres_driver(cls, v: str) -> str:
        return sqlalchemy_url(v)

    @field_validator("base_currency")
    @classmethod
    def _iso_currency(cls, v: str) -> str:
        from babel.numbers import list_currencies

        v = v.strip().upper()
        if v not in list_currencies():
            raise ValueError(f"{v!r} is not an ISO 4217 currency code")
        return v

    @property
    def effective_mail_mode(self) -> MailMode:
        if self.mail_mode:
            return self.mail_mode
        return "send" if self.smtp_host else "preview"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # command-line flags (init kwargs) > environment > the YAML file
        return init_settings, env_settings, _YamlFileValues(settings_cls), file_secret_settings


#: the values of the ``--config`` file being loaded; a source of its own so that it ranks
#: below the environment while command-line flags rank above it
_FILE_VALUES: ContextVar[dict[str, Any]] = ContextVar("_FILE_VALUES")


class _YamlFileValues(PydanticBaseSettingsSource):
    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return _FILE_VALUES.get({}).get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_FILE_VALUES.get({}))


def load_settings(config: str | Path | None = None, **overrides: Any) -> Settings:
    """Settings from the YAML file and the environment; ``overrides`` (CLI flags) win over both."""
    data = read_yaml_mapping(Path(config), "Configuration file", "of settings") if config else {}
    token = _FILE_VALUES.set(data)
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise ConfigError(readable_validation_error(f"Settings ({config or 'environment'})", exc)) from exc
    finally:
        _FILE_VALUES.reset(token)


def readable_validation_error(what: str, exc: ValidationError, location: Callable[[tuple], str] | None = None) -> str:
    """One paragraph naming each bad field, without pydantic's URLs and input dumps.
    ``location`` may name a field better than its dotted path (e.g. a rule by its name)."""
    problems = []
    for err in exc.errors():
        loc = location(err["loc"]) if location else ".".join(str(p) for p in err["loc"]) or "(top level)"
        problems.append(f"{loc}: {err['msg'].removeprefix('Value error, ')}")
    return f"{what} is invalid: " + "; ".join(problems) + "."


M = TypeVar("M", bound=BaseModel)


def read_yaml_mapping(path: Path, what: str, shape: str) -> dict[str, Any]:
    """A YAML file's top-level mapping; a missing file, bad YAML or another shape is a
    ``ConfigError`` naming the file (``what`` says which kind, ``shape`` what it holds)."""
    if not path.is_file():
        raise ConfigError(f"{what} {path} does not exist.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {path} must hold a mapping {shape}.")
    return data


def load_yaml_model(
    path: Path, model: type[M], what: str, shape: str, location: Callable[[dict, tuple], str] | None = None
) -> M:
    """A YAML configuration file validated into ``model``; every way it can be wrong is a
    ``ConfigError`` naming the file (``what`` says which kind, ``shape`` its top-level keys)."""
    data = read_yaml_mapping(path, what, f"({shape})")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        named = (lambda loc: location(data, loc)) if location else None
        raise ConfigError(readable_validation_error(f"{what} {path}", exc, named)) from exc
