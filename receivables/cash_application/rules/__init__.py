"""The matching rules, one module each; importing this package registers every rule's step in
``receivables.cash_application.engine.STEPS``, which ``apply_cash`` runs in the configured order."""

from receivables.cash_application.rules import (
    cash_discount,
    combination,
    exact_amount,
    payer_identification,
    reference,
    short_payment,
)

__all__ = ["cash_discount", "combination", "exact_amount", "payer_identification", "reference", "short_payment"]
