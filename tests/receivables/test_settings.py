"""Settings: YAML, then the environment, then command-line flags; errors are readable."""

from __future__ import annotations

from pathlib import Path

import pytest

from receivables.errors import ConfigError
from receivables.settings import load_settings


def test_environment_wins_over_yaml_and_flags_win_over_both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "settings.yaml"
    config.write_text("db_url: sqlite:///from-yaml.db\nbase_currency: usd\nmail_mode: redirect\n", encoding="utf-8")
    monkeypatch.setenv("RECEIVABLES_DB_URL", "sqlite:///from-env.db")
    settings = load_settings(config)
    assert settings.db_url == "sqlite:///from-env.db"
    assert settings.base_currency == "USD" and settings.mail_mode == "redirect"
    assert load_settings(config, db_url="sqlite:///from-flag.db").db_url == "sqlite:///from-flag.db"


def test_mail_mode_defaults_to_preview_without_smtp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECEIVABLES_SMTP_HOST", raising=False)
    monkeypatch.delenv("RECEIVABLES_MAIL_MODE", raising=False)
    assert load_settings().effective_mail_mode == "preview"
    monkeypatch.setenv("RECEIVABLES_SMTP_HOST", "smtp.example.org")
    assert load_settings().effective_mail_mode == "send"


def test_password_never_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECEIVABLES_SMTP_PASSWORD", "canary-Pa55word")
    settings = load_settings()
    assert settings.smtp_password.get_secret_value() == "canary-Pa55word"
    assert "canary" not in repr(settings) and "canary" not in str(settings.model_dump())


@pytest.mark.parametrize(
    "yaml_text, fragment",
    [
        ("base_currency: EURO\n", "base_currency"),
        ("mail_mode: shout\n", "mail_mode"),
        ("smtp_port: many\n", "smtp_port"),
        ("render_workers: 0\n", "render_workers"),
        ("db_ulr: sqlite:///x.db\n", "db_ulr"),
        ("- a\n- b\n", "mapping of settings"),
        ("db_url: [unclosed\n", "not valid YAML"),
    ],
)
def test_invalid_settings_file_is_one_readable_paragraph(tmp_path: Path, yaml_text: str, fragment: str) -> None:
    config = tmp_path / "settings.yaml"
    config.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(config)
    assert fragment in str(err.value) and str(config) in str(err.value)
    assert "\n" not in str(err.value).strip() or fragment == "not valid YAML"
    assert err.value.exit_code == 2
