"""The package as a user installs it: `pip install .` (not editable), run from a folder
outside the checkout, with the shipped defaults and with a team's configuration folder."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import REPO, TESTS, VALID_AS_OF


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with the project installed from the checkout as a wheel.  Its
    dependencies come from the test environment (a .pth line), so the test measures the
    package (its files, entry point, shipped defaults) rather than PyPI's speed; CI's own
    install resolves the dependencies from pyproject.toml."""
    venv = tmp_path_factory.mktemp("user-venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    ours = [p for p in site.getsitepackages() + [sysconfig.get_paths()["purelib"]] if Path(p).is_dir()]
    (Path(purelib) / "test-dependencies.pth").write_text("\n".join(dict.fromkeys(ours)) + "\n")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-cache-dir", str(REPO)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return venv


def _user_run(venv: Path, cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RECEIVABLES_")}
    environment.update(env or {})
    return subprocess.run(
        [str(venv / "bin" / "receivables"), *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _night(installed: Path, tmp_path: Path, extracts: Path, team: Path, prefect_server: str):
    """``receivables run`` as the user runs it, from a fresh folder with its own warehouse."""
    work = tmp_path / "night"
    work.mkdir()
    run = _user_run(
        installed,
        work,
        "run",
        "--extracts",
        str(extracts),
        "--as-of",
        VALID_AS_OF,
        "--config-dir",
        str(team),
        env={"PREFECT_API_URL": prefect_server, "RECEIVABLES_DB_URL": f"sqlite:///{work / 'w.db'}"},
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    return work, run


def test_the_wheel_carries_its_defaults_and_not_the_checkout(installed: Path, tmp_path: Path) -> None:
    python = installed / "bin" / "python"
    code = (
        "import receivables, flows.deployments as d; from receivables.config_folder import defaults_root;"
        "print(receivables.__file__); print(defaults_root()); print(d.PREFECT_YAML.is_file())"
    )
    where, defaults, prefect_yaml = subprocess.run(
        [str(python), "-c", code], cwd=tmp_path, check=True, capture_output=True, text=True
    ).stdout.split()
    assert str(installed) in where and str(REPO) not in where
    assert (
        defaults.startswith(str(installed)) and (Path(defaults) / "configs" / "mappings" / "canonical.yaml").is_file()
    )
    assert (Path(defaults) / "sql" / "extract" / "open_items.sql").is_file() and prefect_yaml == "True"


@pytest.mark.prefect
def test_demo_from_the_readme_and_a_run_with_a_teams_folder_from_a_plain_install(
    installed: Path, tmp_path: Path, valid_set: Path, prefect_server
) -> None:
    server = {"PREFECT_API_URL": prefect_server}
    demo = _user_run(installed, tmp_path, "demo", "--customers", "20", env=server)
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-3000:]
    assert (
        "Demo finished" in demo.stdout
        and "Open receivables" in demo.stdout
        and "Traceback" not in demo.stdout + demo.stderr
    )
    history = _user_run(
        installed, tmp_path, "history", "--db", f"sqlite:///{tmp_path / 'receivables-demo' / 'receivables.db'}"
    )
    assert history.returncode == 0 and "succeeded" in history.stdout and "ar-2026-10-31-preview" in history.stdout

    # the team's folder: `init` copies the defaults, the team changes one company's name
    team = tmp_path / "ar-config"
    init = _user_run(installed, tmp_path, "init", str(team))
    assert init.returncode == 0, init.stderr
    companies = team / "companies.yaml"
    companies.write_text(
        companies.read_text(encoding="utf-8").replace("Nordwerk Industriebedarf GmbH", "Hanseatic Test Trading GmbH"),
        encoding="utf-8",
    )
    for name in ("dunning.yaml", "matching.yaml", "reporting.yaml"):
        (team / name).unlink()  # what the folder lacks comes from the shipped defaults
    work, run = _night(installed, tmp_path, valid_set, team, prefect_server)
    (letter,) = (work / "outbox").rglob("*.eml")
    assert "Hanseatic Test Trading GmbH" in letter.read_text(encoding="utf-8", errors="replace")


@pytest.mark.prefect
def test_init_writes_a_starter_folder_whose_placeholders_are_refused(
    installed: Path, tmp_path: Path, valid_set: Path, prefect_server
) -> None:
    """A new team's first night: init from its extracts, validate (every problem at once, exit
    2), then a run that applies the bank statements' cash and holds every company back."""
    team = tmp_path / "ar-config"
    init = _user_run(installed, tmp_path, "init", str(team), "--extracts", str(valid_set))
    assert init.returncode == 0, init.stderr
    assert "entry for 1000, 2000, 3000" in init.stdout
    assert {"companies.yaml", "dunning.yaml", "matching.yaml", "reporting.yaml", "README.md"} <= {
        p.name for p in team.iterdir()
    }
    assert (team / "sql" / "extract" / "open_items.sql").is_file() and (
        team / "templates" / "email" / "messages.yaml"
    ).is_file()
    again = _user_run(installed, tmp_path, "init", str(team))
    assert again.returncode == 2 and "not empty" in again.stderr
    check = _user_run(installed, tmp_path, "validate", "--extracts", str(valid_set), "--config-dir", str(team))
    assert check.returncode == 2, check.stdout + check.stderr
    message = " ".join(check.stderr.split())
    assert "company 1000" in message and "'<fill in>'" in message and "name" in message and "Traceback" not in message
    assert "Configuration: 3 problem(s)" in message and "company 3000" in message

    # the first night anyway: statements instead of a payments extract, nothing configured yet
    shutil.copytree(TESTS / "data" / "statement_set" / "statements", valid_set / "statements")
    (valid_set / "payments.csv").unlink()
    work, run = _night(installed, tmp_path, valid_set, team, prefect_server)
    out = " ".join(run.stdout.split())
    assert "Held back: company code(s) 1000, 2000, 3000" in out
    assert "Bank statements: 3 file(s), 3 statement(s), 4 credit(s) read" in out
    # no company claims the accounts yet: their credits are quarantined, with the fix named
    assert "Bank account DE94500700100123456789 has statements tonight, but no company" in out
    assert "Traceback" not in run.stdout + run.stderr
    assert not list((work / "outbox").rglob("*.eml"))
