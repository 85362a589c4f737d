"""Text bound for a spreadsheet cell or a CSV field, made inert (CWE-1236, formula injection).

Names and references come from the ERP and the bank, and real ones may start like a formula
(``+Plus Logistik GmbH``, ``-ELEMENT-``, ``@work AG``): they are kept as data, and every
spreadsheet or CSV this project writes passes its text through ``neutralise``, the one
guard, so a spreadsheet application shows the text instead of evaluating it.
"""

from __future__ import annotations

# a spreadsheet application evaluates a cell that starts like this (after blanks) as a formula
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutralise(value: str) -> str:
    """The text with a leading apostrophe when it starts like a formula (OWASP's advice), so it
    shows and stays as text; any other text as it is."""
    if value and (value[0] in FORMULA_STARTS or value.lstrip()[:1] in FORMULA_STARTS):
        return "'" + value
    return value
