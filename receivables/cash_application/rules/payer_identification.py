"""The payer-identification rule: find the customer of a bank line without one, by payer IBAN,
then by payer name."""

from __future__ import annotations

from receivables.cash_application.config import PayerIdentificationRule
from receivables.cash_application.engine import Extras, _Engine, _Payment, rule_step


@rule_step("payer_identification")
def step(engine: _Engine, pending: list[_Payment], rule: PayerIdentificationRule, extras: Extras) -> None:
    for p in pending:
        if p.customer is None:
            payer(engine, p, rule, *extras[p.pid])


def payer(engine: _Engine, p: _Payment, rule: PayerIdentificationRule, iban: str | None, name: str | None) -> None:
    assert engine.payers is not None
    if iban:
        cid, _ = engine.payers.by_iban(iban, p.company)
        if cid is not None:
            engine.identify(p, cid, "iban", None, rule.iban_confidence)
            return
    if name:
        cid, score, _ = engine.payers.by_name(name, p.company)
        if cid is not None:
            engine.identify(p, cid, "name", score, rule.name_confidence)
            return
    # a payer we cannot name stays UNIDENTIFIED whether nobody or several customers fit
    p.note("UNIDENTIFIED")
