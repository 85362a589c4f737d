"""Security: a canary SMTP password that must never surface anywhere, header / spreadsheet
formula / HTML injection from ERP and bank data, extract paths confined to the configured
roots, and SQL extract queries that bind the as_of instead of pasting it."""

from __future__ import annotations

import base64
import email
import io
import logging
import os
import subprocess
import sys
import zipfile
import zlib
from datetime import date
from email import policy
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa

from receivables import pipeline
from receivables.errors import InputRejected
from receivables.extracts import read_extract_set
from receivables.mappings import load_mapping
from receivables.settings import load_settings
from tests.conftest import TESTS, VALID_AS_OF, VALID_SET, read_flow_run, write_set
from tests.erp import create_erp

AS_OF = date(2026, 10, 31)
CANARY = "Canary-Pw-7f3c9e!"
FORMS = [CANARY, base64.b64encode(CANARY.encode()).decode(), base64.b64encode(f"\0mailer\0{CANARY}".encode()).decode()]
DRIVER = TESTS / "drivers" / "run_until.py"
EXTRA = "2000,F-2026-000124,INV,C002,2026-08-01,2026-09-15,EUR,300.00,300.00,,false,,\n"
EXTRACTS = dict(VALID_SET, **{"open_items.csv": VALID_SET["open_items.csv"] + EXTRA})


# --------------------------------------------------------------------------- helpers


def leaks(data: bytes | str) -> list[str]:
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else str(data)
    return [f for f in FORMS if f in text]


def files_leaking(folder: Path) -> dict[str, list[str]]:
    """Every file under ``folder`` (zip members of workbooks and attachments opened) that holds
    the canary in any of its forms."""
    found = {}
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        chunks = [data]
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                chunks += [z.read(n) for n in z.namelist()]
        if path.suffix == ".eml":
            msg = email.message_from_bytes(data, policy=policy.default)
            chunks += [part.get_payload(decode=True) or b"" for part in msg.walk() if not part.is_multipart()]
        hits = sorted({f for c in chunks for f in leaks(c)})
        if hits:
            found[str(path)] = hits
    return found


def warehouse_leaks(url: str) -> dict[str, list[str]]:
    """Every table of the warehouse dumped as text (compressed MIME opened) and searched."""
    engine = sa.create_engine(url)
    found = {}
    with engine.connect() as conn:
        names = sa.inspect(conn).get_table_names()
        assert {"run_log", "email_outbox", "dunning_notices", "aging"} <= set(names)
        for name in names:
            for row in conn.execute(sa.text(f'SELECT * FROM "{name}"')):
                for value in row:
                    if isinstance(value, (bytes, memoryview)):
                        value = bytes(value)
                        try:
                            value = zlib.decompress(value)
                        except zlib.error:
                            pass
                    hits = leaks(value if isinstance(value, bytes) else str(value))
                    if hits:
                        found.setdefault(name, []).extend(hits)
    engine.dispose()
    return found


def send_env(monkeypatch, port: int, **extra: str) -> None:
    monkeypatch.setenv("RECEIVABLES_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("RECEIVABLES_SMTP_PORT", str(port))
    monkeypatch.setenv("RECEIVABLES_SMTP_STARTTLS", "false")
    monkeypatch.setenv("RECEIVABLES_MAIL_FROM", "ar@nordwerk.example")
    for k, v in extra.items():
        monkeypatch.setenv(k, v)


# --------------------------------------------------------------------------- the canary password


@pytest.mark.prefect
def test_the_smtp_password_appears_nowhere_a_flow_run_leaves_traces(
    workdir: Path, valid_set: Path, prefect_server, smtp_server, caplog, monkeypatch
) -> None:
    server = smtp_server(password=CANARY)
    send_env(monkeypatch, server.port, RECEIVABLES_SMTP_USER="mailer", RECEIVABLES_SMTP_PASSWORD=CANARY)
    write_set(valid_set, EXTRACTS)
    from flows.nightly import nightly

    caplog.set_level(logging.DEBUG)
    # a preview first (writes .eml files, stays pending), then the real send of the same date
    assert nightly(extracts=str(valid_set), as_of=AS_OF, mode="preview", return_state=True).is_completed()
    assert list((workdir / "outbox").rglob("*.eml"))
    state = nightly(extracts=str(valid_set), as_of=AS_OF, mode="send", return_state=True)
    assert state.is_completed(), state.message
    assert len(server.received) == 2 and server.logins and all(p == CANARY.encode() for _, p in server.logins)

    assert not leaks(caplog.text)
    assert not leaks(repr(state.result()))
    for folder in ("archive", "outbox", "reports"):
        assert (workdir / folder).exists(), folder
        assert files_leaking(workdir / folder) == {}, folder
    assert warehouse_leaks(f"sqlite:///{workdir / 'warehouse.db'}") == {}

    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()  # ship the buffered log lines before reading them back
    engine = sa.create_engine(f"sqlite:///{workdir / 'warehouse.db'}")
    with engine.connect() as conn:
        flow_run_ids = [r[0] for r in conn.execute(sa.text("SELECT flow_run_id FROM run_log"))]
    engine.dispose()
    assert len(flow_run_ids) == 2 and all(flow_run_ids)
    for flow_run_id in flow_run_ids:
        flow_run, artifacts, logs = read_flow_run(flow_run_id)
        assert artifacts
        assert not leaks(repr(flow_run.parameters)) and not leaks(repr(flow_run.state))
        for artifact in artifacts:
            assert not leaks(repr(artifact.data)) and not leaks(repr(artifact.description)), artifact.key
        assert logs and not leaks("\n".join(log.message for log in logs))


def test_a_login_refusal_echoing_the_password_leaks_it_nowhere(tmp_path: Path, smtp_server) -> None:
    """A badly behaved server repeats the password it was given in its 535 reply; the run goes
    on (emails stay pending) and neither its output nor the warehouse holds the password."""
    server = smtp_server(password="the-right-one", echo_password=True)
    write_set(tmp_path / "extracts", EXTRACTS)
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECEIVABLES_")}
    env.update(
        RECEIVABLES_DB_URL=url,
        RECEIVABLES_ARCHIVE_DIR=str(tmp_path / "archive"),
        RECEIVABLES_OUTBOX_DIR=str(tmp_path / "outbox"),
        RECEIVABLES_REPORTS_DIR=str(tmp_path / "reports"),
        RECEIVABLES_MAIL_MODE="send",
        RECEIVABLES_SMTP_HOST="127.0.0.1",
        RECEIVABLES_SMTP_PORT=str(server.port),
        RECEIVABLES_SMTP_STARTTLS="false",
        RECEIVABLES_MAIL_FROM="ar@nordwerk.example",
        RECEIVABLES_SMTP_USER="mailer",
        RECEIVABLES_SMTP_PASSWORD=CANARY,
        GX_ANALYTICS_ENABLED="false",
    )
    proc = subprocess.run(
        [sys.executable, str(DRIVER), "none", str(tmp_path / "extracts"), VALID_AS_OF],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert server.logins and server.logins[0][1] == CANARY.encode()  # the server did get it
    assert "refused the login" in proc.stderr and "***" in proc.stderr  # and said it back
    assert not leaks(proc.stdout + proc.stderr)
    assert warehouse_leaks(url) == {}
    for folder in ("archive", "reports"):
        assert files_leaking(tmp_path / folder) == {}
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT status, count(*) FROM email_outbox GROUP BY status")).all() == [
            ("pending", 2)
        ]
        (counts,) = conn.execute(sa.text("SELECT counts FROM run_log")).one()
    engine.dispose()
    assert "refused the login" in counts


# --------------------------------------------------------------------------- injection

CUSTOMERS_HEADER = VALID_SET["customers.csv"].splitlines()[0]
EVIL = "evil@attacker.example"


def _customers(*rows: str) -> str:
    return CUSTOMERS_HEADER + "\n" + "\n".join(rows) + "\n"


def test_crlf_in_a_customer_name_or_email_never_becomes_a_header(workdir: Path, valid_set: Path, smtp_server) -> None:
    server = smtp_server()
    customers = _customers(
        # CRLF in the address: quarantined (and never a header)
        f'C001,Müller & Söhne GmbH,"buchhaltung@mueller-soehne.de\r\nBcc: {EVIL}",de,DE,EUR,30,50000.00,'
        "STANDARD,,false,Anna Schmidt,DE89370400440532013000,1000",
        # CRLF in the name, and a display name that tries to smuggle in a second address
        f'C002,"Café Peñalver S.L.\r\nBcc: {EVIL}",pagos@penalver.es,es,ES,EUR,45,20000.00,'
        "STANDARD,,false,Lucía Gómez,ES9121000418450200051332,2000",
        f'C003,"Acme"" <{EVIL}>, ""Supply",ap@acme-supply.com,en,US,USD,30,100000.00,'
        "KEY_ACCOUNT,,false,John Miller,,3000",
        "C004,Nordlicht AG,kasse@nordlicht.example,de,DE,EUR,30,10000.00,STANDARD,,false,Anna Schmidt,,1000",
    )
    items = EXTRACTS["open_items.csv"] + "1000,9000019999,INV,C004,2026-07-01,2026-08-01,EUR,700.00,700.00,,false,,\n"
    write_set(valid_set, dict(EXTRACTS, **{"customers.csv": customers, "open_items.csv": items}))
    settings = load_settings(
        mail_mode="send",
        smtp_host="127.0.0.1",
        smtp_port=server.port,
        smtp_starttls=False,
        mail_from="ar@nordwerk.example",
    )
    pipeline.run_nightly(str(valid_set), AS_OF, settings)

    engine = pipeline.warehouse_engine(settings.db_url)
    with engine.connect() as conn:
        quarantined = {
            (r.value or "")[:40]: r.reason
            for r in conn.execute(sa.text("SELECT value, reason FROM quarantine WHERE extract = 'customers'"))
        }
    assert any("buchhaltung@mueller-soehne.de" in v for v in quarantined), quarantined
    assert any("Café Peñalver" in v for v in quarantined), quarantined

    assert server.received, "at least the clean customers' reminders go out"
    allowed = {
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
        "reply-to",
        "content-language",
        "auto-submitted",
        "x-auto-response-suppress",
        "content-transfer-encoding",
        "list-unsubscribe",
        "x-receivables-key",
    }
    for m in server.received:
        assert EVIL not in m.rcpt_tos
        msg = m.message
        assert msg["Bcc"] is None and msg["Cc"] is None
        assert len(msg["To"].addresses) == 1 and EVIL not in str(msg["To"]).replace('"', "").split("<")[-1]
        assert all(a.addr_spec != EVIL for a in msg["To"].addresses)
        assert b"\nBcc:" not in m.content and b"\nbcc:" not in m.content.lower()
        assert {k.lower() for k in msg.keys()} - allowed == set(), msg.keys()


def test_names_that_start_like_a_formula_are_kept_and_inert_in_every_output(
    workdir: Path, valid_set: Path, cli
) -> None:
    """Real names start with + - @ (``+Plus Logistik GmbH``): quarantining them dropped the
    customer's items from dunning and aging.  They are kept with a warning, and every
    spreadsheet and CSV the run writes shows them as text."""
    hyperlink = '=HYPERLINK("http://evil.example","Click")'
    customers = (
        EXTRACTS["customers.csv"]
        .replace("Müller & Söhne GmbH", '"' + hyperlink.replace('"', '""') + '"')
        .replace("Café Peñalver S.L.", "+Plus Logistik GmbH")
    )
    write_set(valid_set, dict(EXTRACTS, **{"customers.csv": customers}))
    summary = pipeline.run_nightly(str(valid_set), AS_OF, load_settings(mail_mode="preview"))
    assert summary["extracts"]["customers"]["quarantined"] == 0 and summary["quarantined_rows"] == 0
    assert summary["data_warnings"] == [
        "2 row(s): name starts like a spreadsheet formula (= + - @): kept, and written as text in every "
        "spreadsheet and CSV"
    ]
    # the customer's items stay in the aging and its reminder goes out
    aging = pd.read_sql("SELECT customer_id, total FROM aging", pipeline.warehouse_engine(load_settings().db_url))
    assert {"C001", "C002"} <= set(aging["customer_id"])

    cells = _cells(Path(summary["files"]["workbook"]))
    assert all(c.data_type != "f" for c in cells), [c.value for c in cells if c.data_type == "f"]
    texts = {str(c.value) for c in cells}
    assert "'" + hyperlink in texts and "'+Plus Logistik GmbH" in texts

    (c001,) = [
        m
        for m in (email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in workdir.rglob("*.eml"))
        if "mueller-soehne" in str(m["To"])
    ]
    for part in c001.iter_attachments():
        name = str(part.get_filename())
        if name.endswith(".xlsx"):
            cells = _cells(part.get_content())
            assert all(c.data_type != "f" for c in cells)
        elif name.endswith(".csv"):
            content = part.get_content()
            text = content.decode("utf-8-sig") if isinstance(content, bytes) else content
            fields = [f for line in text.splitlines() for f in line.replace(",", ";").split(";")]
            assert not any(f.strip('"').startswith(("=", "+", "@")) for f in fields), fields

    # the quarantine CSV of `validate`: a rejected value that looks like a formula stays text
    bad = (
        EXTRACTS["open_items.csv"]
        .replace("RF18539007547034", "=cmd|' /C calc'!A0")
        .replace("2380.50,1380.50", "=1+1,1380.50")
    )
    write_set(valid_set, {"open_items.csv": bad})
    out = workdir / "quarantine.csv"
    result = cli("validate", "--extracts", str(valid_set), "--as-of", VALID_AS_OF, "--quarantine-csv", str(out))
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert "'=1+1" in set(rows["value"]), rows
    assert not any(v.startswith(("=", "+", "@")) for col in rows.columns for v in rows[col])


FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+SUM(1,2)", "@SUM(1+1)", "-2+3+cmd|' /C calc'!A0"]


def _cells(path_or_bytes) -> list:
    book = openpyxl.load_workbook(io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes)
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row if cell.value is not None]


def test_formulas_from_bank_text_and_references_stay_text_in_the_workbook_and_the_statement(
    workdir: Path, valid_set: Path
) -> None:
    payments = EXTRACTS["payments.csv"] + "".join(
        f'P00009{n},1000,2026-10-30,{10 + n}.00,EUR,,"{f.replace(chr(34), chr(34) * 2)}",,'
        f'"{f.replace(chr(34), chr(34) * 2)}",BR-9{n}\n'
        for n, f in enumerate(FORMULAS)
    )
    # C001's open invoice carries a payment reference that looks like a formula: it is printed
    # on the statement of account attached to C001's reminder
    items = EXTRACTS["open_items.csv"].replace(
        "1000,9000012346,INV,C001,2026-09-15,2026-10-15,EUR,2380.50,1380.50,,",
        "1000,9000012346,INV,C001,2026-09-15,2026-10-15,EUR,2380.50,1380.50,"
        f'"{FORMULAS[0].replace(chr(34), chr(34) * 2)}",',
    )
    write_set(valid_set, dict(EXTRACTS, **{"payments.csv": payments, "open_items.csv": items}))
    summary = pipeline.run_nightly(str(valid_set), AS_OF, load_settings(mail_mode="preview"))
    assert summary["extracts"]["payments"]["quarantined"] == 0

    cells = _cells(Path(summary["files"]["workbook"]))
    assert all(c.data_type != "f" for c in cells), [c.value for c in cells if c.data_type == "f"]
    texts = {str(c.value) for c in cells}
    for formula in FORMULAS:  # present, as the text it was (with the apostrophe guard)
        assert "'" + formula in texts, formula

    emls = list((workdir / "outbox").rglob("*.eml"))
    c001 = [
        m
        for m in (email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in emls)
        if "mueller-soehne" in str(m["To"])
    ]
    assert len(c001) == 1
    attachments = [p for p in c001[0].iter_attachments() if str(p.get_filename() or "").endswith(".xlsx")]
    assert len(attachments) == 1
    cells = _cells(attachments[0].get_content())
    assert all(c.data_type != "f" for c in cells), [c.value for c in cells if c.data_type == "f"]
    assert "'" + FORMULAS[0] in {str(c.value) for c in cells}


def test_html_in_a_customer_name_is_escaped_in_the_html_part(workdir: Path, valid_set: Path) -> None:
    script = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    customers = EXTRACTS["customers.csv"].replace("Müller & Söhne GmbH", f'"Müller {script}"')
    write_set(valid_set, dict(EXTRACTS, **{"customers.csv": customers}))
    summary = pipeline.run_nightly(str(valid_set), AS_OF, load_settings(mail_mode="preview"))
    assert summary["extracts"]["customers"]["quarantined"] == 0
    emls = [
        email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in (workdir / "outbox").rglob("*.eml")
    ]
    c001 = next(m for m in emls if "mueller-soehne" in str(m["To"]))
    html = c001.get_body(("html",)).get_content()
    assert "Müller &lt;script&gt;" in html
    assert "<script" not in html.lower() and "<img" not in html.lower()


# --------------------------------------------------------------------------- extract locations


def test_extract_paths_are_confined_to_the_configured_roots(workdir: Path, cli, monkeypatch) -> None:
    root = write_set(workdir / "erp" / "exports" / VALID_AS_OF, VALID_SET).parent
    outside = write_set(workdir / "elsewhere", VALID_SET)
    (root / "link").symlink_to(outside, target_is_directory=True)
    monkeypatch.setenv("RECEIVABLES_EXTRACT_ROOTS", f'["{root}"]')

    ok = cli("validate", "--extracts", str(root / VALID_AS_OF), "--as-of", VALID_AS_OF)
    assert ok.exit_code == 0, ok.output
    for source in (
        str(outside),
        str(root / ".." / "exports" / ".." / ".." / "elsewhere"),
        str(root / "link"),
        f"file://{outside}",
    ):
        result = cli("validate", "--extracts", source, "--as-of", VALID_AS_OF)
        assert result.exit_code == 2, (source, result.output)
        assert "outside the configured extract_roots" in result.output, source
        assert "Traceback" not in result.output

    # the pipeline refuses the same way before writing anything but the run log
    with pytest.raises(InputRejected, match="outside the configured extract_roots"):
        pipeline.run_nightly(str(root / "link"), AS_OF, load_settings())
    assert not (workdir / "archive").exists() and not (workdir / "outbox").exists()
    log = pd.read_sql("SELECT status FROM run_log", pipeline.warehouse_engine(load_settings().db_url))
    assert list(log["status"]) == ["rejected"]


# --------------------------------------------------------------------------- SQL sources


def _erp_database(path: Path) -> str:
    create_erp(f"sqlite:///{path}", {k: v for k, v in VALID_SET.items() if k != "disputes.csv"})
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        # received after the run date: only an injected condition would read it
        conn.execute(
            sa.text(
                "INSERT INTO erp_incoming_payments (payment_id, company_code, value_date, amount, currency) "
                "VALUES ('P9', '1000', '2026-11-05', '1.00', 'EUR')"
            )
        )
    engine.dispose()
    return f"sql+sqlite:///{path}"


@pytest.mark.parametrize("as_of", ["2026-10-31' OR '1'='1", "2026-10-31'; DROP TABLE erp_customers; --"])
def test_the_sql_source_binds_the_as_of_and_never_pastes_it(tmp_path: Path, as_of: str) -> None:
    source = _erp_database(tmp_path / "erp.db")
    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    try:
        extracts = read_extract_set(source, load_mapping("canonical"), as_of=as_of)  # type: ignore[arg-type]
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)

    with_as_of = [(s, p) for s, p in seen if "erp_incoming_payments" in s or "erp_ar_documents" in s]
    assert with_as_of
    for statement, parameters in with_as_of:
        assert "OR '1'='1" not in statement and "DROP" not in statement  # the value is not in the text
        assert as_of in (parameters.values() if isinstance(parameters, dict) else parameters)  # it is bound
    # and it had no effect as SQL: the later payment is not read, the customers table is still there
    assert sorted(extracts.frames["payments"]["payment_id"]) == ["P0000001", "P0000002", "P0000003"]
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'erp.db'}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM erp_customers")).scalar_one() == 3
    engine.dispose()


def test_a_malicious_as_of_on_the_command_line_is_refused_before_any_query(tmp_path: Path, workdir: Path, cli) -> None:
    source = _erp_database(tmp_path / "erp.db")
    result = cli("validate", "--extracts", source, "--as-of", "2026-10-31' OR '1'='1")
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output and "Traceback" not in result.output
