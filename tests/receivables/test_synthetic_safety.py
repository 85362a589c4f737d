"""Sample data that cannot reach anyone (SPEC, "Reruns and replay"): everything `receivables
generate` writes, and the creditor details the shipped configuration prints on the demo
letters, use only domains reserved for documentation and telephone numbers reserved for fiction.

What counts as what, so the scan is the same for every file (CSV, JSON, YAML, templates):

* an **e-mail address** is ``local@host.tld``; a **URL** has a scheme (``https://``) or starts
  with ``www.``; a **bare host name** is a dotted name whose last label is a TLD in use
  (``nordwerk.de``); each one's domain must be reserved: ``example.com``, ``example.net``,
  ``example.org`` or a name under ``.example``, ``.test`` or ``.invalid`` (RFC 2606, RFC 6761);
* a **telephone number** is a value of a field or key named like phone / tel / fax / mobile,
  a number written after such a label in text, or any number in international form
  (``+49 40 ...``); each must lie in a range that is never given to a subscriber:

  - NANP (+1): 555-0100 to 555-0199 in any area code (NANPA, reserved for fictitious use);
  - United Kingdom (+44): Ofcom's "telephone numbers for drama purposes";
  - Germany (+49): the Bundesnetzagentur's "Rufnummern für Medienproduktionen" (drama numbers,
    Amtsblatt 7/2021, Mitteilung 148/2021), 1000 numbers in each of five local networks;
  - Spain (+34): no number is reserved for fiction, so the sample uses one that the national
    plan cannot give to anyone: Spanish numbers are a closed plan of nine digits and only
    those starting with 5 to 9 are allocated (geographic 8/9, mobile 6/7, personal and
    corporate 5); a nine-digit number starting with 2, 3 or 4 is unallocated by construction
    (short codes start with 1, and are avoided so no prefix of the number can ring a service).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

# --- what a reserved domain and a fictitious number are --------------------------------------

RESERVED_TLDS = {"example", "test", "invalid"}
RESERVED_SECOND_LEVEL = {"example.com", "example.net", "example.org"}


def reserved_domain(domain: str) -> bool:
    labels = domain.lower().rstrip(".").split(".")
    return labels[-1] in RESERVED_TLDS or ".".join(labels[-2:]) in RESERVED_SECOND_LEVEL


#: (country code, national-number pattern) for the ranges reserved for fiction (see the docstring)
FICTITIOUS_RANGES = [
    ("1", r"[2-9]\d{2}55501\d{2}"),
    ("44", r"1632960\d{3}"),  # 01632 960xxx, the fictional area code
    ("44", r"207946[01]\d{3}"),  # London 020 7946 0xxx (and 1xxx)
    ("44", r"1(?:1[3-8]|21|31|41|51|61)4960\d{3}"),  # Leeds ... Manchester 01xx 496 0xxx
    ("44", r"1914980\d{3}"),  # Tyneside 0191 498 0xxx
    ("44", r"7700900\d{3}"),  # mobile 07700 900xxx
    ("44", r"8081570\d{3}"),  # freephone 08081 570xxx
    ("44", r"9098790\d{3}"),  # premium rate 0909 879 0xxx
    ("44", r"3069990\d{3}"),  # UK-wide 03069 990xxx
    ("49", r"3023125\d{3}"),  # Berlin 030 23125 xxx
    ("49", r"6990009\d{3}"),  # Frankfurt am Main 069 90009 xxx
    ("49", r"4066969\d{3}"),  # Hamburg 040 66969 xxx
    ("49", r"2214710\d{3}"),  # Köln 0221 4710 xxx
    ("49", r"8999998\d{3}"),  # München 089 99998 xxx
    ("34", r"[234]\d{8}"),  # no such Spanish number (see the docstring)
]


def fictitious_phone(number: str) -> bool:
    """True for a number in international form (``+CC ...`` or ``00CC ...``) inside a range
    reserved for fiction; a number without its country code cannot be placed, so it fails."""
    text = number.strip()
    if not text.startswith(("+", "00")):
        return False
    digits = re.sub(r"\D", "", text)
    if text.startswith("00"):
        digits = digits[2:]
    return any(
        digits.startswith(cc) and re.fullmatch(national, digits[len(cc) :]) for cc, national in FICTITIOUS_RANGES
    )


# --- finding addresses, host names and numbers in text ---------------------------------------

EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+)")
URL = re.compile(r"(?i)\b(?:[a-z][a-z0-9+.-]*://|www\.)(?:[^\s/@\"'<>]*@)?([a-z0-9.-]+)")
LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
HOST = re.compile(rf"(?<![\w.@/-])((?:{LABEL}\.)+[A-Za-z]{{2,24}})(?![\w-]|\.\w)")
#: TLDs a real address in this data could end in; a dotted name ending otherwise (a file name
#: such as ``customers.csv``, a template variable such as ``company.name``) is not a host name
PUBLIC_TLDS = set(
    "com net org info biz io co app dev eu "
    "de es us uk fr it nl be at ch pt pl se dk no fi ie lu cz mx ar br ca au jp cn in ru".split()
)
PHONE_NAME = re.compile(r"(?i)phone|^tel|_tel|fax|mobile|handy|movil|móvil")
PHONE_IN_TEXT = re.compile(
    r"(?i)(?:\b(?:tel|phone|telephone|telefon|teléfono|telefono|tlf|fax|mobile|móvil|movil|handy)\b\.?:?\s*)"
    r"((?:\+|00)?\(?\d[\d\s()./-]{5,}\d)"
    r"|(?<![\w+])(\+\d{1,3}[\s(./-]*\d[\d\s()./-]{5,}\d)"
)


def domains_in(text: str) -> set[str]:
    found = {m.group(1) for m in EMAIL.finditer(text)} | {m.group(1) for m in URL.finditer(text)}
    found |= {m.group(1) for m in HOST.finditer(text) if m.group(1).rsplit(".", 1)[-1].lower() in PUBLIC_TLDS}
    return {d.strip(".").lower() for d in found if "." in d}


def phones_in(text: str) -> set[str]:
    return {(m.group(1) or m.group(2)).strip() for m in PHONE_IN_TEXT.finditer(text)}


def _leaves(node, key: str = ""):
    """(key, scalar) for every value in parsed YAML/JSON."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, str(k))
    elif isinstance(node, list):
        for v in node:
            yield from _leaves(v, key)
    elif node is not None:
        yield key, str(node)


def scan(path: Path) -> tuple[set[str], set[str]]:
    """(domains, telephone numbers) in one file of any kind."""
    text = path.read_text(encoding="utf-8")
    domains, phones = domains_in(text), phones_in(text)
    suffix = path.suffix.lower()
    parsed = None
    if suffix in (".yaml", ".yml"):
        parsed = yaml.safe_load(text)
    elif suffix == ".json":
        parsed = json.loads(text)
    elif suffix == ".csv":
        import csv

        rows = list(csv.reader(text.splitlines()))
        if rows:
            parsed = [dict(zip(rows[0], row)) for row in rows[1:]]
    for key, value in _leaves(parsed):
        if PHONE_NAME.search(key) and value.strip():
            phones.add(value.strip())
    return domains, phones


def problems(files: list[Path], root: Path) -> list[str]:
    found = []
    for path in files:
        domains, phones = scan(path)
        rel = path.relative_to(root)
        found += [
            f"{rel}: domain {d} is not reserved for documentation" for d in sorted(domains) if not reserved_domain(d)
        ]
        found += [
            f"{rel}: telephone number {p!r} is not a fictitious one" for p in sorted(phones) if not fictitious_phone(p)
        ]
    return found


# --- the scanner itself ------------------------------------------------------------------------


def test_the_scanner_finds_real_domains_and_numbers_and_passes_reserved_ones(tmp_path: Path) -> None:
    sample = tmp_path / "sample.csv"
    sample.write_text(
        "name,email,phone,note\n"
        "A,ap@acme-supply.com;x@acme.example,+49 40 1234567-0,see https://www.nordwerk.de/agb\n"
        "B,buchhaltung@mueller.de.example,+49 40 66969-120,Tel.: +34 91 123 45 67 or nordwerk.es\n"
        "C,ar@shop.example.com,+1 704 555 0142,customers.csv and company.name are not hosts\n"
        "D,,01632 960123,fax +44 20 7946 0321 / +34 400 12 34 56\n",
        encoding="utf-8",
    )
    domains, phones = scan(sample)
    assert {d for d in domains if not reserved_domain(d)} == {"acme-supply.com", "www.nordwerk.de", "nordwerk.es"}
    assert {p for p in phones if not fictitious_phone(p)} == {"+49 40 1234567-0", "+34 91 123 45 67", "01632 960123"}
    assert {"+49 40 66969-120", "+1 704 555 0142", "+44 20 7946 0321", "+34 400 12 34 56"} <= phones
    assert fictitious_phone("+44 1632 960123") and not fictitious_phone("+1 704 555 1234")


# --- what `receivables generate` writes ------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 7])
def test_generated_set_uses_only_reserved_domains_and_fictitious_numbers(seed: int, cli, tmp_path: Path) -> None:
    out = tmp_path / "sample"
    result = cli("generate", "--out", str(out), "--customers", "60", "--seed", str(seed))
    assert result.exit_code == 0, result.output

    files = sorted(p for p in out.rglob("*") if p.is_file())
    assert {p.name for p in files} >= {"customers.csv", "payments.csv", "manifest.json", "cash_application.csv"}
    assert problems(files, out) == []
    emails = {d for p in files for d in scan(p)[0]}
    assert len(emails) > 20, "the scan found no addresses: it is not looking at the data"


# --- what the shipped configuration prints on the demo letters ---------------------------------


def test_shipped_configuration_uses_only_reserved_domains_and_fictitious_numbers() -> None:
    """companies.yaml (creditor mailboxes and phones), the templates and the mappings: what the
    demo prints on a letter.  expectations/ is left out: it describes the address format with
    the placeholder ``name@domain.tld`` and is never printed on a letter."""
    configs = REPO / "configs"
    files = sorted(
        p
        for p in configs.rglob("*")
        if p.is_file() and p.suffix in (".yaml", ".yml", ".json", ".j2", ".md") and "expectations" not in p.parts
    )
    assert configs / "companies.yaml" in files
    assert problems(files, configs) == []
    domains, phones = scan(configs / "companies.yaml")
    assert len(phones) >= 3 and domains, "companies.yaml has creditor phones and mailboxes to check"
