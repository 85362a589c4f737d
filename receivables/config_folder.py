"""The team's configuration folder, and the defaults shipped inside the package.

A collections team changes its rules without touching code: company details, dunning
policies, matching rules, reporting, ERP mappings, validation suites, email templates and SQL
extraction queries live in one folder it owns (``RECEIVABLES_CONFIG_DIR`` or
``--config-dir``), laid out like the repository's ``configs/``.  A file the folder lacks
falls back to the default shipped with the package, so a folder may hold a single file.

The defaults are the repository's ``configs/`` and ``sql/``.  A wheel carries them inside the
package (``receivables/_defaults/``, see ``pyproject.toml``); an editable checkout reads them
where they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from receivables.errors import ConfigError


def defaults_root() -> Path:
    """The folder holding the shipped ``configs/`` and ``sql/``."""
    packaged = Path(str(files("receivables"))) / "_defaults"
    if (packaged / "configs").is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent  # an editable checkout


@dataclass(frozen=True)
class ConfigFolder:
    """Where each configuration file comes from: the team's folder first, then the defaults."""

    #: the team's folder, or None for the shipped defaults only
    root: Path | None = None

    @classmethod
    def at(cls, root: str | Path | None) -> ConfigFolder:
        if root is None or str(root).strip() == "":
            return cls(None)
        path = Path(root).expanduser()
        if not path.is_dir():
            raise ConfigError(
                f"The configuration folder {path} does not exist (RECEIVABLES_CONFIG_DIR / --config-dir); "
                f"`receivables init {path}` writes a starter folder."
            )
        return cls(path.resolve())

    @property
    def defaults(self) -> Path:
        return defaults_root() / "configs"

    @property
    def sql_defaults(self) -> Path:
        return defaults_root() / "sql"

    def file(self, relative: str) -> Path:
        """The team's file if it has one, else the shipped default (which may not exist)."""
        if self.root is not None and (self.root / relative).is_file():
            return self.root / relative
        return self.defaults / relative

    def sql_file(self, relative: str) -> Path:
        """An extraction query: ``sql/<relative>`` in the team's folder, else the shipped one."""
        if self.root is not None and (self.root / "sql" / relative).is_file():
            return self.root / "sql" / relative
        return self.sql_defaults / relative

    def folders(self, relative: str) -> list[Path]:
        """``relative`` in the team's folder (when present) and in the defaults, in that
        order: a search path, e.g. for email templates."""
        found = [self.root / relative] if self.root is not None and (self.root / relative).is_dir() else []
        return found + [self.defaults / relative]

    def names(self, relative: str, pattern: str) -> list[str]:
        """Stems of the files matching ``pattern`` in either folder, sorted."""
        return sorted({p.stem for folder in self.folders(relative) for p in folder.glob(pattern)})

    def describe(self) -> str:
        return f"{self.root} (defaults for what it lacks)" if self.root else "the shipped defaults"


#: what ``receivables init`` writes into a new configuration folder
STARTER_FILES = ("companies.yaml", "dunning.yaml", "matching.yaml", "reporting.yaml", "disputes.yaml")
STARTER_FOLDERS = ("mappings", "expectations", "templates/email")
#: a value ``receivables init`` leaves for the team to fill in; refused until it is
PLACEHOLDER = "<fill in>"


def write_starter_folder(target: Path, company_codes: list[str] | None = None) -> list[Path]:
    """A new configuration folder with copies of the shipped defaults to edit, the extraction
    queries, and, given the extracts' company codes, a ``companies.yaml`` with one entry per
    code whose placeholders the run refuses until they are filled.  Refuses to overwrite."""
    import shutil

    target = Path(target)
    if target.exists() and any(target.iterdir()):
        raise ConfigError(f"{target} is not empty; `receivables init` writes only into a new or empty folder.")
    source = ConfigFolder()
    written: list[Path] = []
    target.mkdir(parents=True, exist_ok=True)
    for name in STARTER_FILES:
        written.append(Path(shutil.copy2(source.file(name), target / name)))
    for folder in STARTER_FOLDERS:
        shutil.copytree(source.defaults / folder, target / folder)
        written += sorted(p for p in (target / folder).rglob("*") if p.is_file())
    shutil.copytree(source.sql_defaults, target / "sql")
    written += sorted(p for p in (target / "sql").rglob("*") if p.is_file())
    if company_codes:
        (target / "companies.yaml").write_text(starter_companies(company_codes), encoding="utf-8")
    (target / "README.md").write_text(_STARTER_README, encoding="utf-8")
    return written + [target / "README.md"]


def starter_companies(codes: list[str]) -> str:
    """``companies.yaml`` with one entry per company code, every value to be filled in."""
    lines = [
        "# One entry per company code of your extracts: who the creditor is, where to pay, whom",
        "# to ask.  Everything here is printed on reminders and statements.  The run refuses a",
        f"# value still reading {PLACEHOLDER!r}; see the shipped companies.yaml for every field.",
        "",
    ]
    for code in codes:
        lines += [
            f'"{code}":',
            f'  name: "{PLACEHOLDER}"',
            "  address:",
            f'    - "{PLACEHOLDER}"',
            f'  country: "{PLACEHOLDER}"',
            f'  currency: "{PLACEHOLDER}"',
            f'  collections_email: "{PLACEHOLDER}"',
            "  bank:",
            f'    account_holder: "{PLACEHOLDER}"',
            f'    iban: "{PLACEHOLDER}"',
            f'    bic: "{PLACEHOLDER}"',
            "  # bank_accounts: [IBANs whose statements/ files are this company's cash, besides bank.iban]",
            "",
        ]
    return "\n".join(lines)


_STARTER_README = """# Collections configuration

This folder is read by the receivables pipeline when `RECEIVABLES_CONFIG_DIR` (or
`--config-dir`) names it.  Each file here replaces the default shipped with the package;
delete a file to go back to the shipped default, which then follows upgrades.

- `companies.yaml`: creditor details per company code (printed on every letter)
- `dunning.yaml`: dunning policies, levels, fees and interest
- `matching.yaml`: cash-application rules and thresholds
- `reporting.yaml`: aging buckets, KPI settings, worklist scoring
- `disputes.yaml`: target days per dispute reason, escalation tiers and their addresses
- `mappings/`: how your ERP's export maps to the canonical extracts
- `expectations/`: great-expectations suites per extract
- `templates/email/`: reminder templates per level and language
- `sql/extract/`: extraction queries for a SQL source (`:as_of` is a bound parameter)

Check it against an extract set with `receivables validate --extracts ... --config-dir <this folder>`.
"""
