"""Statement-of-account attachment benchmark: the CSV and XLSX of one reminder, per statement.

    python benchmarks/statement_attachment.py [--statements 2000] [--seed 1] [--out FILE]

Builds ``--statements`` synthetic statements of 1-15 open items each (invoices, credit notes,
payments on account, adjustments; some without a reference or an original amount, some with
a disputed part, some with the fees and interest of earlier reminders as extra lines), in
German, English and Spanish, and times ``_statement_files`` (what the renderer calls once per
email) over all of them: wall and CPU milliseconds per statement, for both files and for
each file alone.  The rows are made before the clock starts, so the rendering is timed, not
the generator.

Then it checks a sample of the XLSX files the way the customer opens them: openpyxl reads
them back, and LibreOffice converts them to CSV headless when ``soffice`` is on the PATH
(reported as "not checked" otherwise; the tests read the files with openpyxl in any case).

Prints a table and writes the results as JSON (default
``benchmarks/results/statement_attachment.json``).
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AS_OF = date(2026, 10, 31)
#: the bar of issue 19: both files of one statement in under 2 ms
BAR_MS = 2.0
LANGUAGES = (("de", "de_DE", "EUR"), ("en", "en_US", "USD"), ("es", "es_ES", "EUR"))
TYPES = ("INV", "INV", "INV", "INV", "CRN", "PMT", "ADJ")
CLAIM_LABELS = ("Fees from earlier reminders still open", "Interest from earlier reminders still open")


def synthetic_statements(count: int, seed: int) -> list[dict]:
    """``count`` statements as the renderer hands them to ``_statement_files``."""
    from babel import Locale

    rnd = random.Random(seed)
    out = []
    for n in range(count):
        language, locale, currency = LANGUAGES[n % len(LANGUAGES)]
        rows = [_row(rnd, n, k, currency) for k in range(rnd.randint(1, 15))]
        rows.sort(key=lambda r: (r["due_date"], r["document_no"]))
        claims = [(label, rnd.randint(250, 5000)) for label in CLAIM_LABELS if rnd.random() < 0.15]
        out.append(
            {
                "rows": rows,
                "language": language,
                "locale": Locale.parse(locale),
                "customer_id": f"C{n:06d}",
                "customer_name": rnd.choice(("Müller & Söhne GmbH", "+Plus Logistik", "Acme Corp", "Señor Café SL")),
                "currency": currency,
                "claims": claims,
            }
        )
    return out


def _row(rnd: random.Random, n: int, k: int, currency: str) -> dict:
    doc_type = rnd.choice(TYPES)
    credit = doc_type in ("CRN", "PMT")
    cents = rnd.randint(100, 5_000_000) * (-1 if credit else 1)
    due = AS_OF - timedelta(days=rnd.randint(-20, 200))
    return {
        "document_no": f"9{n:06d}{k:03d}",
        "document_type": doc_type,
        "reference": rnd.choice(("", f"PO-{rnd.randint(1000, 99999)}", "=HYPERLINK(x)", "Lieferung März, Los 4")),
        "document_date": due - timedelta(days=30),
        "due_date": due,
        "days_past_due": None if credit else max((AS_OF - due).days, 0),
        "currency": currency,
        "amount": None if rnd.random() < 0.05 else cents,
        "open_amount": cents if rnd.random() < 0.7 else cents // 2 or cents,
        "dunning_level": rnd.choice((None, 1, 2, 3)),
        "disputed": rnd.randint(100, abs(cents)) if not credit and rnd.random() < 0.05 else None,
    }


def time_statements(statements: list[dict], catalog: dict, company: dict, which: str) -> dict:
    """Wall and CPU milliseconds per statement for ``which`` (both, csv or xlsx)."""
    from receivables.reminders import statement as st

    def both(s: dict) -> object:
        return st._statement_files(
            s["rows"], catalog, s["language"], s["locale"], s["customer_id"], s["customer_name"], company,
            AS_OF, s["currency"], claims=s["claims"],
        )  # fmt: skip

    def csv_only(s: dict) -> object:
        words = st._statement_words(catalog, s["language"])
        return st._statement_csv(s["rows"], _headings(st, words, s), words["document_types"], s["locale"], s["claims"])

    def xlsx_only(s: dict) -> object:
        words = st._statement_words(catalog, s["language"])
        line = f"{s['customer_id']} {s['customer_name']}"
        return st._statement_xlsx(
            s["rows"], _headings(st, words, s), words, line, company["name"], AS_OF, s["currency"],
            s["locale"].territory, s["claims"],
        )  # fmt: skip

    build = {"both": both, "csv": csv_only, "xlsx": xlsx_only}[which]
    build(statements[0])  # warm-up: imports, caches
    wall, cpu = time.perf_counter(), time.process_time()
    for s in statements:
        build(s)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"wall_ms": 1000 * wall / len(statements), "cpu_ms": 1000 * cpu / len(statements)}


def _headings(st: object, words: dict, s: dict) -> list[str]:
    """The headings as ``_statement_files`` makes them (for timing one file alone)."""
    currency = s["currency"]
    headings = [
        f"{words['columns'][c]} ({currency})" if c in st._MONEY_COLUMNS else words["columns"][c]
        for c in st._STATEMENT_COLUMNS
    ]
    if st._shows_disputed(s["rows"]):
        headings.append(f"{words['columns'].get('disputed', 'Disputed')} ({currency})")
    return headings


def check_openpyxl(files: list[bytes]) -> dict:
    """Every sampled workbook opens in openpyxl and carries numbers and dates as such."""
    import openpyxl

    problems = []
    for n, content in enumerate(files):
        try:
            sheet = openpyxl.load_workbook(io.BytesIO(content)).active
            if not sheet["B3"].is_date:
                problems.append(f"#{n}: B3 is not a date")
        except Exception as exc:  # noqa: BLE001 - any failure to open is the finding
            problems.append(f"#{n}: {exc!r}")
    return {"checked": len(files), "ok": not problems, "problems": problems[:5]}


def check_libreoffice(files: list[bytes]) -> dict:
    """LibreOffice converts every sampled workbook to CSV headless (when it is installed)."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        return {"checked": 0, "ok": None, "problems": ["not checked: soffice is not on the PATH"]}
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, content in enumerate(files):
            source = Path(tmp) / f"s{n}.xlsx"
            source.write_bytes(content)
            subprocess.run(
                [soffice, "--headless", "--convert-to", "csv", "--outdir", tmp, str(source)],
                capture_output=True,
                timeout=120,
                check=False,
            )
            converted = source.with_suffix(".csv")
            if not converted.is_file() or not converted.read_bytes().strip():
                problems.append(f"#{n}: LibreOffice did not convert it")
    return {"checked": len(files), "ok": not problems, "problems": problems[:5]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--statements", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sample", type=int, default=20, help="workbooks read back by openpyxl / LibreOffice")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "statement_attachment.json")
    args = parser.parse_args(argv)

    from receivables.reminders import statement as st
    from receivables.reminders.templates import _catalog, template_dirs

    catalog = _catalog(template_dirs())
    company = {"name": "Beispiel Handels GmbH"}
    statements = synthetic_statements(args.statements, args.seed)
    timings = {which: time_statements(statements, catalog, company, which) for which in ("both", "csv", "xlsx")}
    sample = [
        st._statement_files(
            s["rows"], catalog, s["language"], s["locale"], s["customer_id"], s["customer_name"], company,
            AS_OF, s["currency"], claims=s["claims"],
        )[1][1]
        for s in statements[: args.sample]
    ]  # fmt: skip
    report = {
        "statements": args.statements,
        "items": sum(len(s["rows"]) for s in statements),
        "seed": args.seed,
        "python": platform.python_version(),
        "timings": timings,
        "bar_ms": BAR_MS,
        "meets_bar": max(timings["both"].values()) < BAR_MS,
        "openpyxl": check_openpyxl(sample),
        "libreoffice": check_libreoffice(sample),
    }
    show(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {args.out}")
    return 0


def show(report: dict) -> None:
    print(f"{report['statements']} statements, {report['items']} items (seed {report['seed']})")
    print(f"{'files':<8}{'wall ms/statement':>20}{'CPU ms/statement':>20}")
    for which, t in report["timings"].items():
        print(f"{which:<8}{t['wall_ms']:>20.3f}{t['cpu_ms']:>20.3f}")
    verdict = "PASS" if report["meets_bar"] else "FAIL"
    both = report["timings"]["both"]
    print(
        f"{verdict}: CSV + XLSX {both['wall_ms']:.3f} ms wall, {both['cpu_ms']:.3f} ms CPU (bar {report['bar_ms']} ms)"
    )
    for check in ("openpyxl", "libreoffice"):
        c = report[check]
        state = "not checked" if c["ok"] is None else ("ok" if c["ok"] else "FAILED")
        print(f"{check}: {state} ({c['checked']} workbooks) {'; '.join(c['problems'])}")


if __name__ == "__main__":
    raise SystemExit(main())
