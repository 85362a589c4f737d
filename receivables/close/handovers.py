"""Handover packages (docs/close.md "Handover packages"): when an account's collection case
reaches HANDOVER, the agency gets its open items (the statement of account's rows), the fees
and interest the notices charged, and the contact history, as CSV and XLSX, exactly once: an
account already exported on an earlier night is not exported again, and a rerun of the same
night builds byte-identical files."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd

from receivables.cell_text import neutralise
from receivables.close.writeoff_rules import HandoverRules
from receivables.money import to_decimal
from receivables.reminders.statement import _statement_rows

HANDOVER_COLUMNS = [
    "handover_id",
    "agency",
    "company_code",
    "customer_id",
    "case_id",
    "items",
    "amount",
    "currency",
    "files",
]
#: the package CSV's columns (and the XLSX's "Items" sheet), docs/close.md
ITEM_COLUMNS = [
    "company_code",
    "customer_id",
    "customer_name",
    "document_no",
    "document_type",
    "reference",
    "document_date",
    "due_date",
    "days_past_due",
    "currency",
    "amount",
    "open_amount",
    "dunning_level",
]
CHARGE_COLUMNS = ["notice_date", "notice_id", "level", "currency", "overdue_amount", "fees", "interest"]
CONTACT_COLUMNS = ["occurred_on", "activity_id", "channel", "outcome", "collector", "note", "next_contact_on"]
SUMMARY_COLUMNS = ["currency", "open_amount", "fees", "interest", "total_claimed"]
_MONEY = {"amount", "open_amount", "overdue_amount", "fees", "interest", "total_claimed"}


@dataclass(frozen=True)
class HandoverPackage:
    """One account's package for its agency (money in cents)."""

    handover_id: str
    agency: str
    company_code: str
    customer_id: str
    case_id: str
    as_of: date
    items: list[dict]
    charges: list[dict]
    contacts: list[dict]
    amount: int
    currency: str | None

    @property
    def stem(self) -> str:
        return f"handover-{self.agency}-{self.company_code}-{self.customer_id}-{self.as_of.isoformat()}"

    @property
    def summary(self) -> list[dict]:
        """Per currency: what is open, the fees and interest charged, and their sum."""
        out = []
        for cur in sorted({r["currency"] for r in self.items} | {r["currency"] for r in self.charges}):
            opened = sum(r["open_amount"] for r in self.items if r["currency"] == cur)
            fees = sum(r["fees"] for r in self.charges if r["currency"] == cur)
            interest = sum(r["interest"] for r in self.charges if r["currency"] == cur)
            out.append(
                {"currency": cur, "open_amount": opened, "fees": fees, "interest": interest,
                 "total_claimed": opened + fees + interest}
            )  # fmt: skip
        return out


def handover_id(company_code: str, customer_id: str, case_id: str) -> str:
    """The same case's handover has the same id on every night and rerun."""
    return f"HO-{company_code}-{customer_id}-{case_id}"


def due_handovers(cases: pd.DataFrame, exported: set[str]) -> pd.DataFrame:
    """The open cases at HANDOVER whose package was not exported on an earlier night."""
    if cases is None or cases.empty:
        return pd.DataFrame(columns=list(cases.columns) if cases is not None else [])
    at = cases.loc[(cases["stage"] == "HANDOVER") & cases["closed_on"].isna()]
    ids = [handover_id(str(c), str(u), str(k)) for c, u, k in zip(at["company_code"], at["customer_id"], at["case_id"])]
    return at.loc[[i not in exported for i in ids]]


def build_packages(
    due: pd.DataFrame,
    open_items: pd.DataFrame,
    customers: pd.DataFrame,
    levels: pd.DataFrame | None,
    notices: pd.DataFrame | None,
    activities: pd.DataFrame | None,
    as_of: date,
    rules: HandoverRules,
    base_currency: str | None = None,
) -> list[HandoverPackage]:
    """A package per due case: its account's open items with their dunning levels (``levels``:
    company_code, document_no, level), every notice's fees and interest (``notices`` of all
    nights so far, with ``as_of``), and the contact log up to as_of."""
    out = []
    cust = customers.assign(customer_id=customers["customer_id"].astype(str)).drop_duplicates("customer_id")
    cust = cust.set_index("customer_id")
    for case in due.sort_values(["company_code", "customer_id"]).itertuples(index=False):
        co, cu = str(case.company_code), str(case.customer_id)
        country = _get(cust, cu, "country")
        agency = rules.agency_for(co, None if country is None else str(country))
        name = str(_get(cust, cu, "name") or "")
        items = _items(_account(open_items, co, cu), levels, as_of, co, cu, name)
        out.append(
            HandoverPackage(
                handover_id=handover_id(co, cu, str(case.case_id)),
                agency=agency.name,
                company_code=co,
                customer_id=cu,
                case_id=str(case.case_id),
                as_of=as_of,
                items=items,
                charges=_charges(_account(notices, co, cu), as_of),
                contacts=_contacts(_account(activities, co, cu), as_of),
                amount=int(case.overdue_amount),
                currency=base_currency,
            )
        )
    return out


def _get(frame: pd.DataFrame, key: str, column: str) -> object:
    if column not in frame.columns or key not in frame.index:
        return None
    value = frame.at[key, column]
    return None if pd.isna(value) else value


def _account(frame: pd.DataFrame | None, company_code: str, customer_id: str) -> pd.DataFrame:
    if frame is None or frame.empty:
        return pd.DataFrame()
    mine = (frame["company_code"].astype(str) == company_code) & (frame["customer_id"].astype(str) == customer_id)
    return frame.loc[mine]


def _items(items: pd.DataFrame, levels: pd.DataFrame | None, as_of: date, co: str, cu: str, name: str) -> list[dict]:
    """The statement of account's rows (``receivables.reminders.statement``), per currency."""
    if items.empty:
        return []
    if levels is not None and not levels.empty:
        lv = levels.astype({"document_no": str, "company_code": str})
        lv = lv.loc[lv["company_code"] == co, ["document_no", "level"]].rename(columns={"level": "dunning_level"})
        items = items.assign(document_no=items["document_no"].astype(str)).merge(lv, on="document_no", how="left")
    rows = []
    for currency in sorted(items["currency"].astype(str).unique()):
        mine = items.loc[items["currency"].astype(str) == currency]
        for r in _statement_rows([], mine, as_of, currency):
            rows.append({"company_code": co, "customer_id": cu, "customer_name": name} | r)
    return rows


def _charges(notices: pd.DataFrame, as_of: date) -> list[dict]:
    if notices.empty:
        return []
    n = notices.assign(_on=pd.to_datetime(notices["as_of"])).sort_values(["_on", "notice_id"], kind="stable")
    n = n.loc[n["_on"] <= pd.Timestamp(as_of)]
    return [
        {"notice_date": on.date(), "notice_id": str(i), "level": int(lv), "currency": str(c),
         "overdue_amount": int(o), "fees": int(f), "interest": int(x)}
        for on, i, lv, c, o, f, x in zip(
            n["_on"], n["notice_id"], n["level"], n["currency"], n["overdue_amount"], n["fees"], n["interest"]
        )
    ]  # fmt: skip


def _contacts(log: pd.DataFrame, as_of: date) -> list[dict]:
    if log.empty:
        return []
    log = log.assign(_on=pd.to_datetime(log["occurred_on"]), _id=log["activity_id"].astype(str))
    log = log.loc[log["_on"] <= pd.Timestamp(as_of)].sort_values(["_on", "_id"], kind="stable")
    rows = []
    for r in log.to_dict("records"):
        nxt = r.get("next_contact_on")
        rows.append(
            {
                "occurred_on": r["_on"].date(),
                "activity_id": r["_id"],
                "channel": str(r["channel"]),
                "outcome": str(r["outcome"]),
                "collector": None if pd.isna(r.get("collector")) else str(r.get("collector")),
                "note": None if pd.isna(r.get("note")) else str(r.get("note")),
                "next_contact_on": None if nxt is None or pd.isna(nxt) else pd.Timestamp(nxt).date(),
            }
        )
    return rows


def handovers_frame(packages: list[HandoverPackage]) -> pd.DataFrame:
    """The ``handovers`` table's rows of the night (money in cents)."""
    rows = [
        {"handover_id": p.handover_id, "agency": p.agency, "company_code": p.company_code,
         "customer_id": p.customer_id, "case_id": p.case_id, "items": len(p.items), "amount": p.amount,
         "currency": p.currency, "files": f"{p.stem}.csv;{p.stem}.xlsx"}
        for p in packages
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=HANDOVER_COLUMNS).astype({"items": "int64", "amount": "int64"})


def _cell(value: object, column: str) -> str:
    if value is None:
        return ""
    if column in _MONEY:
        return str(to_decimal(int(value)))
    if isinstance(value, date):
        return value.isoformat()
    return neutralise(str(value))


def package_csv(package: HandoverPackage) -> bytes:
    """The account's open items, one line each; money as decimal text, dates ISO."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ITEM_COLUMNS)
    for r in package.items:
        writer.writerow([_cell(r.get(c), c) for c in ITEM_COLUMNS])
    return out.getvalue().encode("utf-8")


def package_xlsx(package: HandoverPackage) -> bytes:
    """Sheets Summary, Items, Fees and interest, Contacts; byte-identical for a rerun."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    # a fixed creation time keeps the file byte-identical across reruns of the same as_of
    book.set_properties({"title": package.stem, "created": datetime.combine(package.as_of, datetime.min.time())})
    fmt = {"money": book.add_format({"num_format": "#,##0.00"}), "day": book.add_format({"num_format": "yyyy-mm-dd"})}
    head = book.add_format({"bold": True})
    for title, columns, rows in (
        ("Summary", SUMMARY_COLUMNS, package.summary),
        ("Items", ITEM_COLUMNS, package.items),
        ("Fees and interest", CHARGE_COLUMNS, package.charges),
        ("Contacts", CONTACT_COLUMNS, package.contacts),
    ):
        sheet = book.add_worksheet(title)
        for col, name in enumerate(columns):
            sheet.write_string(0, col, name, head)
            sheet.set_column(col, col, 16)
        for n, r in enumerate(rows, start=1):
            for col, name in enumerate(columns):
                _write(sheet, n, col, r.get(name), name, fmt)
    book.close()
    return buffer.getvalue()


def _write(sheet: object, row: int, col: int, value: object, name: str, fmt: dict) -> None:
    if value is None:
        return
    if name in _MONEY:
        sheet.write_number(row, col, float(to_decimal(int(value))), fmt["money"])
    elif isinstance(value, date):
        sheet.write_datetime(row, col, datetime.combine(value, datetime.min.time()), fmt["day"])
    elif isinstance(value, int):
        sheet.write_number(row, col, value)
    else:
        sheet.write_string(row, col, neutralise(str(value)))
