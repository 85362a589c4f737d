"""ERP column mappings: how an ERP's own export layout becomes the canonical extract set.

A mapping (``configs/mappings/<name>.yaml``) says which files hold each extract, which source
header feeds each canonical column, how the ERP writes numbers, dates and flags, and how its
codes translate (SAP document type ``RV`` is an invoice).  Extracts a mapping does not name
are read as canonical files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from receivables.config_folder import ConfigFolder
from receivables.errors import ConfigError
from receivables.schemas import EXTRACTS
from receivables.settings import load_yaml_model


class TextFormat(BaseModel):
    """How values are written in a file; every field may be overridden per extract."""

    model_config = ConfigDict(extra="forbid")

    #: ``auto`` picks the most frequent of , ; TAB | in the header line
    delimiter: str = "auto"
    #: a UTF-8 byte-order mark is accepted whatever the declared encoding
    encoding: str = "utf-8"
    decimal: Literal[".", ","] = "."
    thousands: Literal["", ".", ",", " ", "'"] = ""
    date_format: str = "%Y-%m-%d"
    #: SAP writes negative amounts as ``1.234,56-``
    trailing_minus: bool = False
    true_values: list[str] = Field(default_factory=lambda: ["true", "yes", "y", "1", "x"])
    false_values: list[str] = Field(default_factory=lambda: ["false", "no", "n", "0"])
    #: SAP flags (dunning block reasons) are blank or any code letter: any code means "set"
    any_value_is_true: bool = False

    @field_validator("delimiter")
    @classmethod
    def _one_char(cls, v: str) -> str:
        if v in ("auto", "\\t", "tab"):
            return "\t" if v != "auto" else v
        if len(v) != 1:
            raise ValueError("delimiter must be one character, 'tab' or 'auto'")
        return v

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, v: str) -> str:
        import codecs

        try:
            codecs.lookup(v)
        except LookupError as exc:
            raise ValueError(f"unknown encoding {v!r}") from exc
        return v


class ExtractMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: file names or glob patterns inside the extract folder, first match wins
    files: list[str] = Field(default_factory=list)
    #: canonical column -> source header; a canonical column not listed is read by its own name
    columns: dict[str, str] = Field(default_factory=dict)
    #: canonical column -> {source code: canonical code}
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    format: dict[str, object] = Field(default_factory=dict)


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    format: TextFormat = Field(default_factory=TextFormat)
    extracts: dict[str, ExtractMapping] = Field(default_factory=dict)

    @field_validator("extracts")
    @classmethod
    def _known_extracts(cls, v: dict[str, ExtractMapping]) -> dict[str, ExtractMapping]:
        for name, em in v.items():
            if name not in EXTRACTS:
                raise ValueError(f"unknown extract {name!r} (known: {', '.join(EXTRACTS)})")
            unknown = set(em.columns) - set(EXTRACTS[name].names)
            if unknown:
                raise ValueError(f"{name}: unknown canonical columns {sorted(unknown)}")
        return v

    def for_extract(self, name: str) -> ExtractMapping:
        return self.extracts.get(name) or ExtractMapping()

    def files_for(self, name: str) -> list[str]:
        own = self.for_extract(name).files
        canonical = [f"{name}.csv", f"{name}.txt", f"{name}.xlsx", f"{name}.parquet"]
        return own or canonical

    def format_for(self, name: str) -> TextFormat:
        overrides = self.for_extract(name).format
        if not overrides:
            return self.format
        try:
            return TextFormat.model_validate({**self.format.model_dump(), **overrides})
        except ValidationError as exc:  # pragma: no cover - same checks as at load
            raise ConfigError(f"mapping {self.name}, extract {name}: {exc}") from exc

    def source_header(self, extract: str, column: str) -> str:
        return self.for_extract(extract).columns.get(column, column)


def load_mapping(name_or_path: str | Path = "canonical", folder: ConfigFolder = ConfigFolder()) -> Mapping:
    """A mapping by name (``mappings/<name>.yaml`` in the configuration folder, else shipped)
    or by path, validated."""
    path = Path(name_or_path)
    if not path.suffix:
        path = folder.file(f"mappings/{name_or_path}.yaml")
    if not path.is_file():
        known = ", ".join(folder.names("mappings", "*.yaml"))
        raise ConfigError(f"Mapping {name_or_path!r} not found ({path}); known mappings: {known}.")
    return load_yaml_model(path, Mapping, "Mapping file", "name, format, extracts")
