"""Issue 16's acceptance: 120 nights (2026-09-01 .. 2026-12-29) on one warehouse, the nightly
stages run per night against a real SMTP server on loopback, while the ERP's extract set
changes as a real one does: payments arrive on their day and the next night the ERP shows the
invoice reduced or cleared and the payment gone; the collectors' activities appear from the
day they happened; a payment plan appears from the day it was agreed.

The set changes on a handful of days only, so each version is written, read and validated
once and serves every night until the next change.  The collection cases, their events, the
collector worklist, the dunning state and the emails are then checked night by night.

The accounts (in EUR; all in company code 1000 but the last):

- C010: one invoice of 3,000.00 under a plan of three instalments of 1,000.00; the first two
  are paid on 09-29 and 10-29, the third (due 11-30) never: the plan breaks on 12-04;
- C020: two invoices handed over on 10-13 (the older one reaches level 4); both paid on 11-20;
- C030: a key account whose call task (level 1, 09-15) stays open through a NO_ANSWER on 09-17
  until the customer is reached on 09-22; it pays in full on 09-29;
- C040 (company code 2000): a promise to pay logged on 10-05 (1,200.00 by 10-15), broken on
  10-19 (the grace of 3 days has run out); reached again on 10-29.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from receivables import pipeline
from tests.conftest import write_set
from tests.nights import night_after_the_gate, scenario_settings

START = date(2026, 9, 1)
NIGHTS = 120
LAST = START + timedelta(days=NIGHTS - 1)
#: the nights rerun after all the others: night 59 (a payment, a contact, a stage change) and 60
RERUNS = (START + timedelta(days=58), START + timedelta(days=59))


def d(text: str) -> date:
    return date.fromisoformat(text)


CUSTOMERS = (
    "customer_id,name,email,language,country,currency,payment_terms_days,credit_limit,segment,dunning_policy,dunning_block,collector,iban,company_code\n"
    "C010,Müller & Söhne GmbH,buchhaltung@mueller-soehne.de,de,DE,EUR,30,50000.00,STANDARD,,false,Anna Schmidt,,1000\n"
    "C020,Hansa Logistik GmbH,rechnungen@hansa-logistik.de,de,DE,EUR,30,50000.00,STANDARD,,false,Anna Schmidt,,1000\n"
    "C030,Baltic Trading AG,ap@baltic-trading.de,de,DE,EUR,30,50000.00,KEY_ACCOUNT,,false,Anna Schmidt,,1000\n"
    "C040,Café Peñalver S.L.,pagos@penalver.es,es,ES,EUR,30,20000.00,STANDARD,,false,Lucía Gómez,,2000\n"
)


@dataclass(frozen=True)
class Invoice:
    company_code: str
    document_no: str
    customer_id: str
    due_date: date
    amount: str


@dataclass(frozen=True)
class Payment:
    payment_id: str
    company_code: str
    customer_id: str
    value_date: date
    #: what the payment takes off each document
    pays: tuple[tuple[str, str], ...]
    payer_name: str


INVOICES = (
    Invoice("1000", "9000030001", "C010", d("2026-08-20"), "3000.00"),
    Invoice("1000", "9000030011", "C020", d("2026-07-10"), "4000.00"),
    Invoice("1000", "9000030012", "C020", d("2026-08-25"), "600.00"),
    Invoice("1000", "9000030021", "C030", d("2026-09-10"), "8000.00"),
    Invoice("2000", "F-2026-000950", "C040", d("2026-09-20"), "1200.00"),
)
PAYMENTS = (
    Payment("P-C010-1", "1000", "C010", d("2026-09-29"), (("9000030001", "1000.00"),), "MUELLER UND SOEHNE GMBH"),
    Payment("P-C030-1", "1000", "C030", d("2026-09-29"), (("9000030021", "8000.00"),), "BALTIC TRADING AG"),
    Payment("P-C010-2", "1000", "C010", d("2026-10-29"), (("9000030001", "1000.00"),), "MUELLER UND SOEHNE GMBH"),
    Payment(
        "P-C020-1",
        "1000",
        "C020",
        d("2026-11-20"),
        (("9000030011", "4000.00"), ("9000030012", "600.00")),
        "HANSA LOGISTIK GMBH",
    ),
)
ACTIVITIES_HEADER = (
    "activity_id,company_code,customer_id,collector,occurred_on,channel,outcome,"
    "promised_amount,promised_date,note,next_contact_on\n"
)
#: (occurred_on, row): each row is in the ERP's log from its day on
ACTIVITIES = (
    (d("2026-09-05"), "A100,1000,C010,Anna Schmidt,2026-09-05,call,PLAN,,,three instalments agreed,\n"),
    (d("2026-09-17"), "A300,1000,C030,Anna Schmidt,2026-09-17,call,NO_ANSWER,,,,\n"),
    (d("2026-09-22"), "A301,1000,C030,Anna Schmidt,2026-09-22,call,REACHED,,,pays by month end,\n"),
    (d("2026-10-05"), "A400,2000,C040,Lucía Gómez,2026-10-05,call,PROMISE,1200.00,2026-10-15,,\n"),
    (d("2026-10-29"), "A401,2000,C040,Lucía Gómez,2026-10-29,call,REACHED,,,asks for a copy,\n"),
)
PLAN_AGREED = d("2026-09-05")
PLANS = (
    "plan_id,company_code,customer_id,document_nos,agreed_on,approved_by\n"
    "PL10,1000,C010,9000030001,2026-09-05,Anna Schmidt\n"
)
INSTALMENTS = (
    "plan_id,seq,due_date,amount\nPL10,1,2026-09-30,1000.00\nPL10,2,2026-10-30,1000.00\nPL10,3,2026-11-30,1000.00\n"
)


def erp_set(day: date) -> dict[str, str]:
    """The extract set the ERP sends for ``day``: payments of the day, invoices less what
    earlier days paid (cleared when nothing is left), the log and the plans up to the day."""
    paid: dict[str, int] = {}
    last_paid: dict[str, date] = {}
    for p in PAYMENTS:
        if p.value_date < day:
            for doc, amount in p.pays:
                paid[doc] = paid.get(doc, 0) + _cents(amount)
                last_paid[doc] = p.value_date
    items = [
        "company_code,document_no,document_type,customer_id,document_date,due_date,currency,amount,open_amount,reference,dunning_block,discount_pct,discount_days\n"
    ]
    cleared = ["company_code,document_no,customer_id,document_date,due_date,currency,amount,clearing_date\n"]
    for inv in INVOICES:
        left = _cents(inv.amount) - paid.get(inv.document_no, 0)
        issued = inv.due_date - timedelta(days=30)
        if left > 0:
            items.append(
                f"{inv.company_code},{inv.document_no},INV,{inv.customer_id},{issued},{inv.due_date},EUR,"
                f"{inv.amount},{_money(left)},,false,,\n"
            )
        else:
            cleared.append(
                f"{inv.company_code},{inv.document_no},{inv.customer_id},{issued},{inv.due_date},EUR,"
                f"{inv.amount},{last_paid[inv.document_no]}\n"
            )
    payments = [
        "payment_id,company_code,value_date,amount,currency,customer_id,payer_name,payer_iban,remittance_info,bank_reference\n"
    ]
    for p in PAYMENTS:
        if p.value_date == day:
            total = sum(_cents(a) for _, a in p.pays)
            refs = " ".join(doc for doc, _ in p.pays)
            payments.append(
                f"{p.payment_id},{p.company_code},{day},{_money(total)},EUR,{p.customer_id},{p.payer_name},,"
                f"RE {refs},BR-{p.payment_id}\n"
            )
    files = {
        "customers.csv": CUSTOMERS,
        "open_items.csv": "".join(items),
        "cleared_items.csv": "".join(cleared),
        "payments.csv": "".join(payments),
        "activities.csv": ACTIVITIES_HEADER + "".join(row for on, row in ACTIVITIES if on <= day),
    }
    if day >= PLAN_AGREED:
        files |= {"payment_plans.csv": PLANS, "plan_instalments.csv": INSTALMENTS}
    return files


def _cents(text: str) -> int:
    units, cents = text.split(".")
    return int(units) * 100 + int(cents)


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


@pytest.fixture(scope="module")
def nights(tmp_path_factory, smtp_server_module):
    """The 120 nights, then nights 59 and 60 rerun with the same inputs; what the warehouse
    held for them before and after the rerun, and what the mail server received meanwhile."""
    folder = tmp_path_factory.mktemp("casework")
    server = smtp_server_module()
    settings = scenario_settings(folder, server)
    inputs: dict[date, tuple] = {}  # night -> (source, extracts, validated) of its version
    current, loaded, versions = None, None, 0
    sent = {}
    for n in range(NIGHTS):
        day = START + timedelta(days=n)
        files = erp_set(day)
        if files != current:
            # a new version of the set: written, read and validated once, as of its first night
            source = str(write_set(folder / f"extracts-{day}", files))
            run = pipeline.Run(source=source, as_of=day, settings=settings)
            extracts = pipeline.ingest(run)
            validated = pipeline.validate(run, extracts)
            assert validated.quarantine.empty, (day, validated.quarantine)
            current, loaded, versions = files, (source, extracts, validated), versions + 1
        inputs[day] = loaded
        before = len(server.received)
        night_after_the_gate(loaded[0], day, settings, loaded[1], loaded[2])
        sent[day] = [(m.rcpt_tos[0], m.message) for m in server.received[before:]]
    engine = pipeline.warehouse_engine(settings.db_url)
    received, reruns = len(server.received), {}
    for day in RERUNS:
        before = night_rows(engine, day)
        summary = night_after_the_gate(inputs[day][0], day, settings, inputs[day][1], inputs[day][2])
        reruns[day] = (before, night_rows(engine, day), summary)
    return {
        "engine": engine,
        "sent": sent,
        "versions": versions,
        "reruns": reruns,
        "received_by_reruns": len(server.received) - received,
    }


_DATES = ("as_of", "opened_on", "stage_since", "action_since", "next_action_due", "sla_due", "last_contact_on")
_DATES += ("closed_on", "on_date", "promised_date", "occurred_on", "next_due_date", "first", "last")


def rows(engine, sql: str, **params) -> pd.DataFrame:
    """A query's rows, dates as dates whichever way the database returns them."""
    with engine.connect() as conn:
        result = conn.execute(sa.text(sql), params)
        frame = pd.DataFrame(result.all(), columns=list(result.keys()))
    for c in frame.columns:
        if c in _DATES:
            frame[c] = [None if v is None or pd.isna(v) else pd.Timestamp(v).date() for v in frame[c]]
    return frame


def night_rows(engine, day: date) -> dict[str, list[tuple]]:
    """The night's cases, case events, worklist and collector view, every column but the run's
    and the row's ids."""
    out = {}
    for table in ("collection_cases", "case_events", "collector_worklist", "collector_kpis"):
        frame = rows(engine, f"SELECT * FROM {table} WHERE as_of = :day", day=day)
        frame = frame.drop(columns=[c for c in ("id", "run_id") if c in frame.columns])
        out[table] = sorted(tuple(str(v) for v in r) for r in frame.itertuples(index=False))
    return out


def nights_between(first: str, last: str) -> list[date]:
    a, b = d(first), d(last)
    return [a + timedelta(days=i) for i in range((b - a).days + 1)]


def cases_of(engine, customer: str) -> pd.DataFrame:
    return rows(engine, "SELECT * FROM collection_cases WHERE customer_id = :c ORDER BY as_of", c=customer)


def events_of(engine, customer: str) -> list[tuple]:
    frame = rows(
        engine,
        "SELECT as_of, event, on_date, from_stage, to_stage, detail FROM case_events "
        "WHERE customer_id = :c ORDER BY as_of, id",
        c=customer,
    )
    stage = lambda v: None if pd.isna(v) else v  # noqa: E731
    return [(r.as_of, r.event, r.on_date, stage(r.from_stage), stage(r.to_stage)) for r in frame.itertuples()]


def worklist_of(engine, customer: str) -> pd.DataFrame:
    return rows(engine, "SELECT * FROM collector_worklist WHERE customer_id = :c ORDER BY as_of", c=customer)


def advances(engine, document_no: str) -> list[tuple]:
    frame = rows(
        engine,
        "SELECT as_of, previous_level, level FROM dunning_items WHERE document_no = :doc AND level > previous_level "
        "ORDER BY as_of",
        doc=document_no,
    )
    return [(r.as_of, r.previous_level, r.level) for r in frame.itertuples()]


def skipped_nights(engine, document_no: str, reason: str) -> list[date]:
    frame = rows(
        engine,
        "SELECT as_of FROM dunning_skips WHERE document_no = :doc AND reason = :reason ORDER BY as_of",
        doc=document_no,
        reason=reason,
    )
    return list(frame["as_of"])


def stages(cases: pd.DataFrame) -> dict[date, str]:
    return dict(zip(cases["as_of"], cases["stage"]))


# --- 1. a payment plan kept twice, then broken --------------------------------------------------


def test_a_plan_pauses_dunning_while_current_and_its_break_resumes_it_at_the_stored_level(nights) -> None:
    e = nights["engine"]
    status = rows(e, "SELECT as_of, status, paid_to_date, next_due_date FROM payment_plan_status ORDER BY as_of")
    by_night = {r.as_of: (r.status, float(r.paid_to_date), r.next_due_date) for r in status.itertuples()}
    assert min(by_night) == PLAN_AGREED and len(by_night) == (LAST - PLAN_AGREED).days + 1
    for night, (state, paid, due) in by_night.items():
        if night < d("2026-09-29"):
            assert (state, paid, due) == ("CURRENT", 0.0, d("2026-09-30")), night
        elif night < d("2026-10-29"):
            assert (state, paid, due) == ("CURRENT", 1000.0, d("2026-10-30")), night
        elif night < d("2026-12-04"):  # instalment 3 due 11-30, grace until 12-03
            assert (state, paid, due) == ("CURRENT", 2000.0, d("2026-11-30")), night
        else:
            assert (state, paid, due) == ("BROKEN", 2000.0, None), night
    # each plan event appears on the night it happened and stays in the history after it
    events = rows(e, "SELECT plan_id, event, seq, on_date, min(as_of) AS first FROM plan_events GROUP BY 1, 2, 3, 4")
    got = sorted((r.event, None if pd.isna(r.seq) else int(r.seq), r.on_date, r.first) for r in events.itertuples())
    assert got == sorted(
        [
            ("PLAN_AGREED", None, d("2026-09-05"), d("2026-09-05")),
            ("INSTALMENT_MET", 1, d("2026-09-29"), d("2026-09-29")),
            ("INSTALMENT_MET", 2, d("2026-10-29"), d("2026-10-29")),
            ("INSTALMENT_MISSED", 3, d("2026-12-04"), d("2026-12-04")),
            ("PLAN_BROKEN", 3, d("2026-12-04"), d("2026-12-04")),
        ]
    )
    # paused as PLAN every night the plan is current, although level 2 was due from 09-15
    assert skipped_nights(e, "9000030001", "PLAN") == nights_between("2026-09-05", "2026-12-03")
    # then level 1 -> 2 on the night it breaks (no reset to 0, and not 4 although 106 days
    # past due reach it), and 2 -> 3 only 14 days later (min_days_since_previous)
    assert advances(e, "9000030001") == [(d("2026-09-01"), 0, 1), (d("2026-12-04"), 1, 2), (d("2026-12-18"), 2, 3)]


def test_the_case_of_a_plan_goes_from_plan_to_a_call_on_the_night_it_breaks(nights) -> None:
    e = nights["engine"]
    cases = cases_of(e, "C010")
    assert set(cases["case_id"]) == {"C-1000-C010-20260901"} and cases["closed_on"].isna().all()
    expected = {n: "REMINDING" for n in nights_between("2026-09-01", "2026-09-04")}
    expected |= {n: "PLAN" for n in nights_between("2026-09-05", "2026-12-03")}
    expected |= {n: "CALLING" for n in nights_between("2026-12-04", str(LAST))}
    assert stages(cases) == expected
    broke = cases[cases["as_of"] == d("2026-12-04")].iloc[0]
    assert (broke["next_action"], broke["next_action_due"], broke["action_since"]) == (
        "call",
        d("2026-12-04"),
        d("2026-12-04"),
    )
    assert "payment plan PL10 broken: instalment 3 due 2026-11-30 missed" in broke["detail"]
    assert (d("2026-12-04"), "STAGE_CHANGED", d("2026-12-04"), "PLAN", "CALLING") in events_of(e, "C010")
    # on the worklist only when there is something to do: the last instalment's grace
    # (check the plan), then the call task every night from the break on
    work = worklist_of(e, "C010")
    assert [(r.as_of, r.stage, r.next_action) for r in work.itertuples()] == [
        (n, "PLAN", "check_plan") for n in nights_between("2026-12-01", "2026-12-03")
    ] + [(n, "CALLING", "call") for n in nights_between("2026-12-04", str(LAST))]


def test_one_courtesy_email_before_each_instalment_and_reminders_resume_after_the_break(nights) -> None:
    outbox = rows(
        nights["engine"],
        "SELECT as_of, notice_id, template, status FROM email_outbox WHERE customer_id = 'C010' ORDER BY as_of",
    )
    assert [(r.as_of, r.notice_id, r.template, r.status) for r in outbox.itertuples()] == [
        (d("2026-09-01"), outbox.iloc[0]["notice_id"], "reminder_1", "sent"),
        (d("2026-09-25"), "PL10/1", "plan_instalment", "sent"),
        (d("2026-10-25"), "PL10/2", "plan_instalment", "sent"),
        (d("2026-11-25"), "PL10/3", "plan_instalment", "sent"),
        (d("2026-12-04"), outbox.iloc[4]["notice_id"], "reminder_2", "sent"),
        (d("2026-12-18"), outbox.iloc[5]["notice_id"], "final_notice", "sent"),
    ]
    # the mail server got each exactly once, on its night: five days before each due date
    got = [
        (day, m["Subject"])
        for day, ms in nights["sent"].items()
        for to, m in ms
        if to == "buchhaltung@mueller-soehne.de"
    ]
    courtesy = [(day, subject) for day, subject in got if "PL10" in subject]
    assert [day for day, _ in courtesy] == [d("2026-09-25"), d("2026-10-25"), d("2026-11-25")]
    for (_, subject), due in zip(courtesy, ("30.09.2026", "30.10.2026", "30.11.2026")):
        assert due in subject, subject
    assert len(got) == 6


# --- 2. a handover on the worklist every night until paid -----------------------------------------


def test_a_handover_stays_on_the_worklist_every_night_until_a_payment_clears_the_account(nights) -> None:
    e = nights["engine"]
    assert advances(e, "9000030011")[-1] == (d("2026-10-13"), 3, 4)
    work = worklist_of(e, "C020")
    handed = nights_between("2026-10-13", "2026-11-19")
    assert list(work["as_of"]) == handed
    assert set(work["case_id"]) == {"C-1000-C020-20260901"}
    assert set(work["next_action"]) == {"handover"} and set(work["stage"]) == {"HANDOVER"}
    assert list(work["days_overdue"]) == list(range(len(handed)))  # one more each night
    assert set(work["next_action_due"]) == {d("2026-10-13")}
    # the account's items wait for the agency: the younger one would have reached level 4 on 10-14
    for doc in ("9000030011", "9000030012"):
        assert skipped_nights(e, doc, "HANDOVER") == nights_between("2026-10-14", "2026-11-19"), doc
    assert advances(e, "9000030012")[-1] == (d("2026-09-29"), 2, 3)
    # paid on 11-20: the case closes that night as PAID, and is gone from then on
    cases = cases_of(e, "C020")
    assert cases["as_of"].max() == d("2026-11-20")
    paid = cases.iloc[-1]
    assert (paid["closed_on"], paid["close_reason"], paid["stage"]) == (d("2026-11-20"), "PAID", "HANDOVER")
    assert cases.iloc[:-1]["closed_on"].isna().all()
    assert events_of(e, "C020") == [
        (d("2026-09-01"), "OPENED", d("2026-09-01"), None, "REMINDING"),
        (d("2026-10-13"), "STAGE_CHANGED", d("2026-10-13"), "REMINDING", "HANDOVER"),
        (d("2026-11-20"), "CLOSED", d("2026-11-20"), "HANDOVER", None),
    ]


# --- 3. a call task until the customer is reached -------------------------------------------------


def test_a_call_task_stays_on_the_worklist_until_a_contact_reaches_the_customer(nights) -> None:
    e = nights["engine"]
    work = worklist_of(e, "C030")
    # from the key account's level 1 call task on 09-15, through the NO_ANSWER of 09-17, to 09-21
    assert list(work["as_of"]) == nights_between("2026-09-15", "2026-09-21")
    assert set(work["case_id"]) == {"C-1000-C030-20260915"} and set(work["next_action"]) == {"call"}
    assert list(work["days_overdue"]) == list(range(7))
    assert [(r.as_of, r.last_outcome) for r in work.itertuples() if r.as_of >= d("2026-09-17")] == [
        (n, "NO_ANSWER") for n in nights_between("2026-09-17", "2026-09-21")
    ]
    cases = cases_of(e, "C030")
    reached = cases[cases["as_of"] == d("2026-09-22")].iloc[0]
    assert (reached["stage"], reached["next_action"], reached["next_action_due"]) == (
        "REMINDING",
        "follow_up",
        d("2026-09-29"),  # follow_up_days 7 after the contact
    )
    assert (reached["last_contact_on"], reached["last_outcome"]) == (d("2026-09-22"), "REACHED")
    assert events_of(e, "C030") == [
        (d("2026-09-15"), "OPENED", d("2026-09-15"), None, "CALLING"),
        (d("2026-09-17"), "CONTACT_RECORDED", d("2026-09-17"), None, None),
        (d("2026-09-19"), "SLA_BREACHED", d("2026-09-19"), None, "CALLING"),
        (d("2026-09-22"), "STAGE_CHANGED", d("2026-09-22"), "CALLING", "REMINDING"),
        (d("2026-09-22"), "CONTACT_RECORDED", d("2026-09-22"), None, None),
        (d("2026-09-29"), "CLOSED", d("2026-09-29"), "REMINDING", None),  # paid in full that night
    ]
    assert cases.iloc[-1]["close_reason"] == "PAID"
    # a key account's levels are calls: it never gets an email
    assert not [m for ms in nights["sent"].values() for to, m in ms if to == "ap@baltic-trading.de"]


# --- 4. a promise logged as an activity, then broken ----------------------------------------------


def test_a_promise_logged_in_a_call_pauses_dunning_and_its_break_asks_for_a_call(nights) -> None:
    e = nights["engine"]
    # promised on 10-05 for 10-15: paused until 10-18 (grace 3 days), although level 2 was due 10-11
    assert skipped_nights(e, "F-2026-000950", "PROMISE") == nights_between("2026-10-05", "2026-10-18")
    assert advances(e, "F-2026-000950")[:2] == [(d("2026-09-27"), 0, 1), (d("2026-10-19"), 1, 2)]
    broken = rows(e, "SELECT as_of, promise_id, promised_amount, promised_date, document_no FROM broken_promises")
    assert set(broken["promise_id"]) == {"ACT-A400"} and broken["as_of"].min() == d("2026-10-19")
    first = broken.sort_values("as_of").iloc[0]
    assert (float(first["promised_amount"]), first["promised_date"], first["document_no"]) == (
        1200.0,
        d("2026-10-15"),
        None,
    )
    cases = cases_of(e, "C040")
    by_night = stages(cases)
    assert {by_night[n] for n in nights_between("2026-10-05", "2026-10-18")} == {"PROMISE"}
    promise = cases[cases["as_of"] == d("2026-10-05")].iloc[0]
    assert (promise["next_action"], promise["next_action_due"]) == ("check_promise", d("2026-10-16"))
    call = cases[cases["as_of"] == d("2026-10-19")].iloc[0]
    assert (call["stage"], call["next_action"], call["next_action_due"]) == ("CALLING", "call", d("2026-10-19"))
    assert "broken promise ACT-A400" in call["detail"]
    assert (d("2026-10-19"), "STAGE_CHANGED", d("2026-10-19"), "PROMISE", "CALLING") in events_of(e, "C040")
    # the promise's date come: checked on the worklist in the grace, then called from the break
    work = worklist_of(e, "C040")
    assert [(r.as_of, r.next_action) for r in work.itertuples() if r.as_of <= d("2026-10-28")] == [
        (n, "check_promise") for n in nights_between("2026-10-16", "2026-10-18")
    ] + [(n, "call") for n in nights_between("2026-10-19", "2026-10-28")]
    # reached on 10-29: the call task is done, a follow-up a week later
    reached = cases[cases["as_of"] == d("2026-10-29")].iloc[0]
    assert (reached["stage"], reached["next_action"], reached["next_action_due"]) == (
        "REMINDING",
        "follow_up",
        d("2026-11-05"),
    )
    # the letters resumed with the second reminder on the night of the break
    got = [(day, m["Subject"]) for day, ms in nights["sent"].items() for to, m in ms if to == "pagos@penalver.es"]
    assert [day for day, _ in got] == [d("2026-09-27"), d("2026-10-19"), d("2026-11-02")]


# --- 5. SLA breaches ------------------------------------------------------------------------------


def test_an_sla_breach_is_flagged_on_the_first_night_past_the_sla_and_recorded_once(nights) -> None:
    e = nights["engine"]
    c030 = cases_of(e, "C030")
    calling = c030[c030["stage"] == "CALLING"]
    assert set(calling["sla_due"]) == {d("2026-09-18")}  # stage since 09-15 + 3 days
    assert [(r.as_of, bool(r.sla_breached)) for r in calling.itertuples()] == [
        (n, n > d("2026-09-18")) for n in nights_between("2026-09-15", "2026-09-21")
    ]
    breaches = rows(e, "SELECT as_of, customer_id, on_date, to_stage FROM case_events WHERE event = 'SLA_BREACHED'")
    got = sorted((r.customer_id, r.as_of, r.on_date, r.to_stage) for r in breaches.itertuples())
    # one per stint in CALLING that outlived its 3 days: C010 from 12-04, C030 from 09-15,
    # C040 from 10-19 and again from 11-05 (called again a week after the contact)
    assert got == [
        ("C010", d("2026-12-08"), d("2026-12-08"), "CALLING"),
        ("C030", d("2026-09-19"), d("2026-09-19"), "CALLING"),
        ("C040", d("2026-10-23"), d("2026-10-23"), "CALLING"),
        ("C040", d("2026-11-09"), d("2026-11-09"), "CALLING"),
    ]
    # the worklist shows the breach from that night on
    work = worklist_of(e, "C030")
    assert [(r.as_of, bool(r.sla_breached)) for r in work.itertuples()] == [
        (n, n > d("2026-09-18")) for n in nights_between("2026-09-15", "2026-09-21")
    ]


# --- 6. a rerun of night 60 -----------------------------------------------------------------------


def test_a_rerun_of_nights_59_and_60_reproduces_their_cases_and_worklist_and_sends_nothing(nights) -> None:
    for day, (before, after, summary) in nights["reruns"].items():
        assert before == after, day
        assert all(before[t] for t in ("collection_cases", "collector_worklist", "collector_kpis")), day
        # a later date holds the dunning state: the rerun proposes but writes and sends nothing
        assert not summary["dunning"]["state_written"], day
    # night 59 had something happen to its cases (a contact, a stage change), which came out the same
    events = rows(nights["engine"], "SELECT event FROM case_events WHERE as_of = :day", day=RERUNS[0])
    assert set(events["event"]) >= {"CONTACT_RECORDED", "STAGE_CHANGED"}
    assert nights["received_by_reruns"] == 0


# --- every night ----------------------------------------------------------------------------------


def test_never_two_open_cases_for_one_account_and_the_set_is_the_erps_of_each_night(nights) -> None:
    e = nights["engine"]
    doubles = rows(
        e,
        "SELECT as_of, company_code, customer_id, count(*) AS n FROM collection_cases WHERE closed_on IS NULL "
        "GROUP BY as_of, company_code, customer_id HAVING count(*) > 1",
    )
    assert doubles.empty, doubles
    assert rows(e, "SELECT count(DISTINCT as_of) AS n FROM collection_cases")["n"][0] == NIGHTS
    # the log holds no contact after its night, and nothing was quarantined
    late = rows(e, "SELECT as_of, activity_id FROM activities WHERE occurred_on > as_of")
    assert late.empty, late
    assert rows(e, "SELECT count(*) AS n FROM quarantine")["n"][0] == 0
    logged = rows(e, "SELECT as_of, count(*) AS n FROM activities GROUP BY as_of")
    assert dict(zip(logged["as_of"], logged["n"]))[d("2026-10-04")] == 3  # A100, A300, A301
    # the set changed on eleven days only, each version read and validated once
    assert nights["versions"] == 11
