"""How the reminders read frame cells and wrap prose: the fast paths give exactly what
pandas' ``to_dict("records")``, ``pd.isna`` and Jinja's ``wordwrap`` give."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2.filters import do_wordwrap
from markupsafe import Markup

from receivables.reminders.cells import _missing, _text, frame_records
from receivables.reminders.templates import _text_env, template_dirs


def same(a: object, b: object) -> bool:
    if type(a) is not type(b):
        return False
    if a is b or (isinstance(a, float) and math.isnan(a) and math.isnan(b)):
        return True
    return bool(a == b)


def every_dtype() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "text": pd.array(["a", None, "c"], dtype="string"),
            "str": pd.Series(["x", None, "z"], dtype="str"),
            "arrow_text": pd.array(["a", None, "b"], dtype="string[pyarrow]"),
            "cents": [1, 2, 3],
            "nullable_cents": pd.array([1, None, 3], dtype="Int64"),
            "arrow_cents": pd.array([1, None, 3], dtype="int64[pyarrow]"),
            "day": pd.to_datetime(["2026-01-01", None, "2026-01-03"]),
            "zoned": pd.to_datetime(["2026-01-01", None, "2026-01-03"]).tz_localize("UTC"),
            "decimal": [Decimal("1.5"), None, np.nan],
            "numpy_in_object": [np.int64(3), pd.NA, np.float64(2.5)],
            "flag": [True, False, True],
            "nullable_flag": pd.array([True, None, False], dtype="boolean"),
            "share": [1.0, np.nan, 2.5],
            "code": pd.Categorical(["p", None, "p"]),
            "sparse": pd.arrays.SparseArray([1, 0, 3]),
            "sparse_share": pd.arrays.SparseArray([1.5, np.nan, 0.0]),
        }
    )


def test_frame_records_are_to_dicts_records_value_for_value() -> None:
    frame = every_dtype()
    for part in (frame, frame.iloc[:0], frame.iloc[[2, 0]], frame[["cents", "text"]], frame[[]]):
        expected, got = part.to_dict("records"), frame_records(part)
        assert [list(r) for r in got] == [list(r) for r in expected]
        for want, have in zip(expected, got):
            assert all(same(want[k], have[k]) or (want[k] is pd.NaT and have[k] is pd.NaT) for k in want), (want, have)


values = st.one_of(
    st.none(),
    st.text(max_size=8),
    st.integers(),
    st.floats(),
    st.dates(),
    st.sampled_from([pd.NA, pd.NaT, np.nan, Decimal("NaN"), Decimal("2.50"), True, pd.Timestamp("2026-11-30")]),
)


@given(values)
def test_a_blank_is_what_pandas_calls_missing(value: object) -> None:
    assert _missing(value) == (value is None or bool(pd.isna(value)))
    assert _text(value) == ("" if _missing(value) else str(value).strip())


prose = st.text(st.sampled_from("ab cd-ef\n\t.,äß"), max_size=300)


@settings(max_examples=150)
@given(prose, st.integers(5, 90), st.booleans(), st.booleans())
def test_the_remembered_wordwrap_wraps_as_jinjas_own(text: str, width: int, long_words: bool, hyphens: bool) -> None:
    env = _text_env(template_dirs())
    template = env.from_string("{{ s | wordwrap(w, b, none, h) }}")
    for _ in range(2):  # the second time from the cache
        got = template.render(s=text, w=width, b=long_words, h=hyphens)
        assert got == do_wordwrap(env, text, width, long_words, None, hyphens)


def test_the_remembered_wordwrap_leaves_other_values_to_jinja() -> None:
    env = _text_env(template_dirs())
    with pytest.raises(AttributeError):  # as jinja's own: a number has no lines to wrap
        env.from_string("{{ 12345 | wordwrap(3) }}").render()
    assert env.from_string("{{ s | wordwrap(4, wrapstring='|') }}").render(s="ab cd ef") == "ab|cd|ef"
    marked = Markup("a <b> " * 20)
    assert env.from_string("{{ s | wordwrap(30) }}").render(s=marked) == do_wordwrap(env, marked, 30)
