"""The contact log: the calls, emails and letters collectors logged in the last weeks.

About one in five customers with overdue invoices has been contacted, one to four times in
the last six weeks, by the collector who owns the account.  Most contacts are calls, many
reach nobody; some end in a promise to pay, which names an amount the customer owes (one
overdue invoice, or everything overdue rounded down) and a date a few days to three weeks
after the call -- so a promise logged a while ago can be broken by now, and a recent one
still pauses dunning.  Notes are short, in the collector's language, and name no telephone
number or address, so a generated set stays safe to hand out.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from receivables.schemas import ACTIVITY_CHANNELS, ACTIVITY_OUTCOMES
from receivables.synthetic.companies import _COMPANY_CODES
from receivables.synthetic.customers import _Customers
from receivables.synthetic.open_items import _INV, _Items
from receivables.synthetic.run_state import _business_day, _Params, _State
from receivables.synthetic.text_columns import _STRING, _date_text, _money_text

_CHANNEL_SHARE = (0.55, 0.25, 0.05, 0.03, 0.12)  # schemas.ACTIVITY_CHANNELS
_OUTCOME_SHARE = (0.25, 0.25, 0.22, 0.06, 0.04, 0.03, 0.05, 0.10)  # schemas.ACTIVITY_OUTCOMES
#: days after the contact when the collector means to follow up, by outcome; -1: no date
_FOLLOW_UP = dict(zip(ACTIVITY_OUTCOMES, (7, 2, -1, 10, 5, 3, 1, 3)))

#: what a collector writes, per company language (de, es, en) and outcome
_NOTES = (
    {
        "REACHED": "Buchhaltung erreicht, Rechnungen liegen vor",
        "NO_ANSWER": "Niemand erreicht, Rückruf erbeten",
        "PROMISE": "Zahlung zugesagt",
        "DISPUTE": "Kunde beanstandet Preise, an Vertrieb",
        "PLAN": "Kunde bittet um Ratenzahlung",
        "REFUSED": "Zahlung vorerst abgelehnt",
        "WRONG_CONTACT": "Ansprechpartner nicht mehr im Haus",
        "PAID_CLAIMED": "Kunde sagt, bereits überwiesen",
    },
    {
        "REACHED": "Contactado con administración, facturas recibidas",
        "NO_ANSWER": "Sin respuesta, volver a llamar",
        "PROMISE": "Compromiso de pago",
        "DISPUTE": "El cliente reclama el precio",
        "PLAN": "Solicita pago fraccionado",
        "REFUSED": "Rechaza pagar por ahora",
        "WRONG_CONTACT": "La persona de contacto ya no está",
        "PAID_CLAIMED": "Dice que ya ha transferido",
    },
    {
        "REACHED": "Spoke to AP, invoices received",
        "NO_ANSWER": "No answer, left a message",
        "PROMISE": "Customer promised payment",
        "DISPUTE": "Customer disputes the pricing",
        "PLAN": "Asked for a payment plan",
        "REFUSED": "Refuses to pay for now",
        "WRONG_CONTACT": "Contact has left the company",
        "PAID_CLAIMED": "Says payment was already sent",
    },
)

#: NO_ANSWER on a written channel: nobody wrote back
_NO_REPLY = ("Keine Antwort auf Schreiben", "Sin respuesta al escrito", "No reply yet")


def _make_activities(
    rng: np.random.Generator, items: _Items, cust: _Customers, state: _State, params: _Params, first_chunk: bool
) -> dict[str, Any]:
    """The contact log of one chunk, oldest contact first per customer."""
    as_of = params.as_of_day
    overdue = (items.doc_type == _INV) & (items.due_date < as_of) & (items.open > 0)
    behind = np.flatnonzero(np.add.reduceat(overdue, items.start) > 0)
    chosen = behind[rng.random(len(behind)) < 0.2]
    if first_chunk and len(chosen) < 3:
        # even a ten-customer demo set has a contact log
        chosen = np.union1d(chosen, rng.choice(behind, size=min(3, len(behind)), replace=False))
    contacts = np.minimum(1 + rng.poisson(1.0, len(chosen)), 4)
    c = np.repeat(chosen, contacts)
    # within the last six weeks, and not before the customer's oldest invoice fell due
    first_due = np.minimum.reduceat(np.where(overdue, items.due_date, as_of), items.start)[c]
    low = np.maximum(as_of - 41, first_due + 1)
    occurred = _business_day(low + (rng.random(len(c)) * (as_of - low + 1)).astype(np.int64))
    order = np.lexsort((occurred, c))  # per customer, oldest contact first
    c, occurred = c[order], occurred[order]
    channel = rng.choice(len(ACTIVITY_CHANNELS), size=len(c), p=_CHANNEL_SHARE)
    outcome = rng.choice(len(ACTIVITY_OUTCOMES), size=len(c), p=_OUTCOME_SHARE)
    made = outcome == ACTIVITY_OUTCOMES.index("PROMISE")
    if first_chunk and len(c) and not made.any():
        # ... with a promise in it: the latest contact of the first customer called
        made[np.flatnonzero(c == c[0])[-1]] = True
        outcome[made] = ACTIVITY_OUTCOMES.index("PROMISE")
    amount, promised = _promised(rng, items, overdue, c, occurred, made)
    return _activity_columns(cust, state, c, occurred, channel, outcome, amount, promised)


def _promised(
    rng: np.random.Generator, items: _Items, overdue: np.ndarray, c: np.ndarray, occurred: np.ndarray, made: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each promise: the open amount of one invoice overdue at the contact or, rounded
    down, of all of them; to be paid a few days to three weeks after the contact.  Blank (-1)
    elsewhere."""
    amount = np.full(len(c), -1, dtype=np.int64)
    promised = np.full(len(c), -1, dtype=np.int64)
    u = rng.random((len(c), 3))
    for row in np.flatnonzero(made).tolist():
        s, e = items.start[c[row]], items.end[c[row]]
        # what was overdue on the day of the call, which is what the customer talked about
        late = s + np.flatnonzero(overdue[s:e] & (items.due_date[s:e] < occurred[row]))
        if not len(late):
            # the contact was rolled back to a business day before anything fell due (a first
            # due date on a weekend): the customer talked about what is overdue by as_of
            late = s + np.flatnonzero(overdue[s:e])
        if u[row, 0] < 0.5:
            amount[row] = int(items.open[late[int(u[row, 1] * len(late))]])
        else:
            total = int(items.open[late].sum())
            amount[row] = total if total < 100_000 else total // 10_000 * 10_000
        promised[row] = occurred[row] + 3 + int(u[row, 2] * 19)
    promised[made] = _business_day(promised[made], roll="forward")
    return amount, promised


def _activity_columns(
    cust: _Customers,
    state: _State,
    c: np.ndarray,
    occurred: np.ndarray,
    channel: np.ndarray,
    outcome: np.ndarray,
    amount: np.ndarray,
    promised: np.ndarray,
) -> dict[str, Any]:
    """The activities extract, with ids that run on across chunks."""
    k = len(c)
    company = cust.company[c]
    outcomes = np.asarray(ACTIVITY_OUTCOMES)[outcome]
    channels = np.asarray(ACTIVITY_CHANNELS)[channel]
    follow_up = np.array([_FOLLOW_UP[o] for o in outcomes.tolist()], dtype=np.int64)
    # after a promise, the collector looks again the day after the promised date
    next_contact = np.where(promised >= 0, promised + 1, np.where(follow_up >= 0, occurred + follow_up, -1))
    next_contact = np.where(next_contact >= 0, _business_day(np.maximum(next_contact, 0), roll="forward"), -1)
    ids = np.strings.add("CNT", np.strings.zfill((state.activities + 1 + np.arange(k)).astype(_STRING), 7))
    state.activities += k
    collectors = cust.columns["collector"]
    return {
        "activity_id": ids,
        "company_code": np.asarray(_COMPANY_CODES)[company],
        "customer_id": cust.ids[c],
        "collector": [collectors[i] for i in c.tolist()],
        "occurred_on": _date_text(occurred),
        "channel": channels,
        "outcome": outcomes,
        "promised_amount": np.where(amount >= 0, _money_text(amount), ""),
        "promised_date": _date_text(promised),
        "note": [
            _NO_REPLY[co] if o == "NO_ANSWER" and ch != "call" else _NOTES[co][o]
            for co, o, ch in zip(company.tolist(), outcomes.tolist(), channels.tolist())
        ],
        "next_contact_on": _date_text(next_contact),
    }
