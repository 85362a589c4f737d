"""Payments and their ground truth: the bank lines cash application reads, and the answer key.

The drafts drawn by ``payment_scenarios`` become bank lines -- id, payer name as the bank
spells it, IBAN, remittance text, bank reference -- sorted by value date the way a statement
lists them, and the ground truth gets one row per expected (payment, open item) application,
or a single row with a blank document for a payment nobody should apply.  Per payment,
sum(applied) + remaining = amount.  What the payer shows depends on the scenario: an
IBAN-only payment carries no customer id, a fuzzy-name one neither id nor IBAN.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from receivables import schemas
from receivables.synthetic.companies import _COMPANY_CODES, _CURRENCIES, _HOME_LANGUAGE
from receivables.synthetic.customers import _Customers
from receivables.synthetic.names import _mangle_name
from receivables.synthetic.open_items import _Items
from receivables.synthetic.payment_scenarios import NOT_MATCHABLE, SCENARIOS, _Draft, _PaymentBuilder
from receivables.synthetic.remittance import _remittance
from receivables.synthetic.run_state import _Params, _State
from receivables.synthetic.text_columns import _date_text, _money_text

GROUND_TRUTH_FILE = "ground_truth/cash_application.csv"
GROUND_TRUTH_COLUMNS = (
    "payment_id",
    "scenario",
    "matchable",
    "company_code",
    "document_no",
    "applied_amount",
    "discount_amount",
    "writeoff_amount",
    "remaining_amount",
)

#: payer names on bank lines nobody can tie to a customer
_UNKNOWN_PAYERS = (
    "PAYPAL (EUROPE) S.A R.L. ET CIE, S.C.A.",
    "Stripe Payments Europe Ltd",
    "Klaus-Dieter Brenner",
    "Herr Thomas Vogelsang",
    "MARIA JOSE ALCAZAR RIVAS",
    "Sammelüberweisung Sparkasse",
    "ADYEN N.V.",
    "Gemeinde Oberhaching Kasse",
    "J. P. Whitfield",
    "Ayuntamiento de Villanueva",
    "WESTERN UNION PAYMENT SERVICES",
    "Finanzamt Eschborn",
)


def _make_payments(
    rng: np.random.Generator,
    items: _Items,
    cust: _Customers,
    state: _State,
    params: _Params,
    first_chunk: bool,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, int]]:
    n = int(rng.poisson(params.payments_per_customer * cust.n))
    wanted = dict(zip(SCENARIOS, rng.multinomial(n, list(SCENARIOS.values())).tolist()))
    if first_chunk:
        # a small demo set should still show every scenario once, where the data allows it
        for name in SCENARIOS:
            if wanted[name] == 0 and wanted["reference"] > 1:
                wanted[name] = 1
                wanted["reference"] -= 1
    b = _PaymentBuilder(rng, items, cust, params)
    b.ambiguous(wanted["ambiguous"])
    b.discount(wanted["discount"])
    for scenario in (
        "partial",
        "reference_iban_unidentified",
        "fuzzy_name_unidentified",
        "short_payment",
        "overpayment",
        "reference",
    ):
        b.single(scenario, wanted[scenario])
    b.multi_reference(wanted["multi_reference"])
    b.exact_amount(wanted["exact_amount"])
    b.combination(wanted["combination"])
    b.no_match(wanted["no_match"])
    b.unidentified_unknown(wanted["unidentified_unknown"])

    drafts = b.drafts
    # a bank statement lists lines by value date; shuffle first so scenarios interleave
    shuffled = rng.permutation(len(drafts))
    dates = np.asarray([drafts[i].value_date for i in shuffled], dtype=np.int64)
    drafts = [drafts[i] for i in shuffled[np.argsort(dates, kind="stable")]]
    counts = dict.fromkeys(SCENARIOS, 0)
    for d in drafts:
        counts[d.scenario] += 1
    payments, truth = _payment_rows(rng, drafts, items, cust, state)
    return payments, truth, counts


def _payment_rows(
    rng: np.random.Generator, drafts: list[_Draft], items: _Items, cust: _Customers, state: _State
) -> tuple[dict[str, Any], dict[str, Any]]:
    n = len(drafts)
    u = rng.random((n, 12))
    cols: dict[str, list[Any]] = {k: [] for k in schemas.PAYMENTS.names}
    truth: dict[str, list[Any]] = {k: [] for k in GROUND_TRUTH_COLUMNS}
    truth_money: dict[str, list[int]] = {
        k: [] for k in ("applied_amount", "discount_amount", "writeoff_amount", "remaining_amount")
    }
    amounts = np.asarray([d.amount for d in drafts], dtype=np.int64)
    value_dates = np.asarray([d.value_date for d in drafts], dtype=np.int64)
    date_digits = [t.replace("-", "") for t in _date_text(value_dates).tolist()]
    for i, d in enumerate(drafts):
        r = u[i]
        state.payments += 1
        payment_id = f"P{state.payments:07d}"
        company = _COMPANY_CODES[d.company]
        known = d.cust >= 0
        customer_id = str(cust.ids[d.cust]) if known else ""
        language = cust.language[d.cust] if known else _HOME_LANGUAGE[d.company]
        payer, iban, shown_id = _payer(d, cust, customer_id, r)
        text = _remittance(d, items, language, customer_id, int(value_dates[i]), r)
        cols["payment_id"].append(payment_id)
        cols["company_code"].append(company)
        cols["customer_id"].append(shown_id)
        cols["payer_name"].append(payer)
        cols["payer_iban"].append(iban)
        cols["remittance_info"].append(text)
        cols["bank_reference"].append("NONREF" if r[11] < 0.1 else f"{date_digits[i]}{state.payments:08d}")
        cols["currency"].append(_CURRENCIES[d.company])
        _add_truth_rows(truth, truth_money, d, payment_id, company, items)
    cols["value_date"] = _date_text(value_dates)
    cols["amount"] = _money_text(amounts)
    for k, v in truth_money.items():
        truth[k] = _money_text(np.asarray(v, dtype=np.int64))
    return cols, truth


def _payer(d: _Draft, cust: _Customers, customer_id: str, r: np.ndarray) -> tuple[str, str, str]:
    """Payer name, payer IBAN and customer id as the bank line shows them."""
    c = d.cust
    ibans = cust.ibans[c] if c >= 0 else []
    if d.scenario == "unidentified_unknown":
        return _UNKNOWN_PAYERS[int(r[0] * len(_UNKNOWN_PAYERS))], "", ""
    if d.scenario == "reference_iban_unidentified":
        payer = _mangle_name(cust.names[c], r[0]) if r[1] < 0.9 else ""
        return payer, ibans[int(r[2] * len(ibans))], ""
    if d.scenario == "fuzzy_name_unidentified":
        return _mangle_name(cust.names[c], r[0], keep_identity=True), "", ""
    payer = _mangle_name(cust.names[c], r[0])
    iban = ibans[int(r[2] * len(ibans))] if ibans and r[1] < 0.8 else ""
    return payer, iban, customer_id


def _add_truth_rows(
    truth: dict[str, list[Any]],
    truth_money: dict[str, list[int]],
    d: _Draft,
    payment_id: str,
    company: str,
    items: _Items,
) -> None:
    """One ground-truth row per expected application, or one blank-document row when there is none."""
    matchable = "false" if d.scenario in NOT_MATCHABLE else "true"
    rows = list(zip(d.items, d.applied, d.discount, d.writeoff)) or [(None, 0, 0, 0)]
    for item, applied, disc, wo in rows:
        truth["payment_id"].append(payment_id)
        truth["scenario"].append(d.scenario)
        truth["matchable"].append(matchable)
        truth["company_code"].append(company)
        truth["document_no"].append(items.document_no[item] if item is not None else "")
        truth_money["applied_amount"].append(applied)
        truth_money["discount_amount"].append(disc)
        truth_money["writeoff_amount"].append(wo)
        truth_money["remaining_amount"].append(d.remaining)
