"""The email templates and their message catalogue, found along the template search path.

Templates live in ``configs/templates/email/``: ``<template>.<language>.html.j2`` and
``.txt.j2`` hold the prose of one dunning level and extend ``base.html.j2`` / ``base.txt.j2``;
``messages.yaml`` holds the subjects, payment deadlines, labels and statement headings.

The catalogue and the Jinja environments are cached per search path: a night renders every
letter from the same few templates.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import yaml
from jinja2.filters import do_wordwrap

from receivables.config_folder import ConfigFolder
from receivables.errors import ConfigError

#: where email templates are looked up, first folder first: the configuration folder's
#: ``templates/email`` (when it has one), then the shipped templates
TemplateDirs = tuple[str, ...]


def template_dirs(folder: ConfigFolder = ConfigFolder()) -> TemplateDirs:
    return tuple(str(p) for p in folder.folders("templates/email"))


def _search_path(template_dir: str | Path | TemplateDirs | None) -> TemplateDirs:
    if template_dir is None:
        return template_dirs()
    if isinstance(template_dir, tuple):
        return template_dir
    return (str(template_dir),)


FALLBACK_LANGUAGE = "en"


@lru_cache(maxsize=8)
def _catalog(template_dirs: TemplateDirs) -> dict[str, Any]:
    """The message catalogue: the first ``messages.yaml`` on the search path (the team's),
    over the ones after it (the shipped one).  A team's copy from an older release lacks the
    templates and sentences added since; those come from the shipped catalogue instead of
    failing the night, entry by entry (a template's subjects, a language's labels)."""
    files = [Path(d) / "messages.yaml" for d in template_dirs if (Path(d) / "messages.yaml").is_file()]
    files = files or [Path(template_dirs[-1]) / "messages.yaml"]
    data: dict[str, Any] = {}
    for file in reversed(files):
        data = _overlay(data, _read_catalogue(file))
    file = files[0]
    if not data.get("templates"):
        raise ConfigError(f"The email message catalogue {file} has no templates section.")
    for section in ("labels", "statement"):
        if FALLBACK_LANGUAGE not in (data.get(section) or {}):
            raise ConfigError(f"{file}: section {section!r} needs the fallback language {FALLBACK_LANGUAGE!r}.")
    return data


def _read_catalogue(file: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"The email message catalogue {file} cannot be read: {exc}.") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"The email message catalogue {file} has no templates section.")
    return data


def _overlay(under: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over``'s entries win; a template entry is replaced whole, a language's labels and
    statement texts sentence by sentence."""
    out = dict(under)
    for section, value in over.items():
        if section == "templates" and isinstance(value, dict):
            out[section] = {**(under.get(section) or {}), **value}
        elif section in ("labels", "statement") and isinstance(value, dict):
            merged = dict(under.get(section) or {})
            for language, texts in value.items():
                merged[language] = {**(merged.get(language) or {}), **(texts or {})}
            out[section] = merged
        else:
            out[section] = value
    return out


def _loader(template_dirs: TemplateDirs) -> jinja2.FileSystemLoader:
    return jinja2.FileSystemLoader(list(template_dirs), encoding="utf-8")


@lru_cache(maxsize=8)
def _html_env(template_dir: TemplateDirs) -> jinja2.Environment:
    # Autoescape everything: customer names and references come from ERP master data.
    return jinja2.Environment(
        loader=_loader(template_dir),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@lru_cache(maxsize=8)
def _text_env(template_dir: TemplateDirs) -> jinja2.Environment:
    # A separate, non-escaping environment: in the text part "&" must stay "&".
    env = jinja2.Environment(
        loader=_loader(template_dir),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["wordwrap"] = _wordwrap
    return env


@jinja2.pass_environment
def _wordwrap(environment: jinja2.Environment, s: Any, *args: Any, **kwargs: Any) -> str:
    """Jinja's ``wordwrap``, remembered: most wrapped paragraphs of a letter (the legal
    text, the statement note, the closing) are the same in thousands of letters, and
    textwrap is a twentieth of a letter's CPU."""
    if type(s) is str:
        try:
            return _wrapped(environment, s, *args, **kwargs)
        except TypeError:  # an argument that cannot be a cache key: jinja decides, as without the cache
            pass
    return do_wordwrap(environment, s, *args, **kwargs)


@lru_cache(maxsize=1 << 14)
def _wrapped(environment: jinja2.Environment, s: str, *args: Any, **kwargs: Any) -> str:
    return do_wordwrap(environment, s, *args, **kwargs)


@lru_cache(maxsize=64)
def _subject_template(template_dir: TemplateDirs, source: str) -> jinja2.Template:
    return _text_env(template_dir).from_string(source)


def _has_templates(template_dir: TemplateDirs, template: str, language: str) -> bool:
    return {f"{template}.{language}.html.j2", f"{template}.{language}.txt.j2"} <= _template_names(template_dir)


@lru_cache(maxsize=8)
def _template_names(template_dir: TemplateDirs) -> frozenset[str]:
    # listing walks the folders: once per search path, not twice per letter (as the catalogue)
    return frozenset(_html_env(template_dir).list_templates())
