"""Every payment's remittance text read at once: the reference keys each names, found with
Arrow over all texts instead of text by text, with exactly ``_Tokeniser.keys``' result."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from receivables.cash_application.item_book import _Book, _KeyIndex
from receivables.cash_application.references import _Tokeniser

#: texts Arrow cuts exactly as ``_Tokeniser.keys`` does: Arrow's ``\s`` and upper case are
#: ASCII-only where Python's are not, so anything else (accents, tabs) goes text by text
_PLAIN = r"^[\x20-\x7e]*$"
#: a normalised token ``_Tokeniser._variants`` may find a key in: a word glued to a number
_GLUED = r"^[A-Z]+[0-9][0-9A-Z]*$"


class _Recorder:
    """A ``known`` that knows nothing and remembers what it was asked."""

    def __init__(self) -> None:
        self.asked: set[str] = set()

    def __contains__(self, key: object) -> bool:
        self.asked.add(str(key))
        return False


def named_items(tok: _Tokeniser, texts: list[str], book: _Book) -> tuple[np.ndarray, np.ndarray]:
    """The items each text names through the keys it names (``tok.keys(text, book.keys)``),
    as unique (text row, item position) pairs in ascending order.

    Plain texts are cut, normalised and looked up in Arrow, the joins of short tokens
    ("RF18 5390 0754 7034") included; the rest (other texts, tokens that may be a word glued
    to a number or numbers joined by a separator) goes through ``tok`` against a small set of
    the keys it can ask for, found by asking once with a ``known`` that knows nothing.  Only
    the distinct keys asked for are looked up in the book (``_Book.index``).
    """
    arr = pa.array(texts, type=pa.large_string())
    plain = pc.match_substring_regex(arr, _PLAIN).to_numpy(zero_copy_only=False)
    tokens, owner = _cut(tok, arr, np.flatnonzero(plain))
    length = pc.utf8_length(tokens).to_numpy()
    first, stop, joined = _joins(tok, tokens, owner, length)
    normalised = tok.norm_array(tokens)
    encoded = pc.dictionary_encode(pa.chunked_array([normalised, joined]).combine_chunks())
    index = book.index(encoded.dictionary)
    at = pc.fill_null(encoded.indices, len(encoded.dictionary)).to_numpy().astype(np.int64)
    # a key naming no item (or too many) is not known: -1, as for a token naming nothing
    code = np.where(np.r_[index.known, False][at], at, -1)
    code, join_code = code[: len(tokens)], code[len(tokens) :]
    single, joins = _walk(owner, first, stop, join_code)
    rows = [owner[single & (code >= 0)], owner[joins[0]]]
    codes = [code[single & (code >= 0)], join_code[joins[1]]]
    # tokens Arrow found nothing for that ``_variants`` may still read, and the texts Arrow cannot cut
    maybe = pc.match_substring_regex(normalised, _GLUED).to_numpy(zero_copy_only=False)
    if tok.seps is not None:
        maybe |= pc.match_substring_regex(tokens, tok.seps.pattern).to_numpy(zero_copy_only=False)
    maybe &= single & (code < 0)
    words = list(zip(owner[maybe].tolist(), tokens.filter(pa.array(maybe)).to_pylist()))
    others = [(row, texts[row]) for row in np.flatnonzero(~plain).tolist() if texts[row]]
    more_rows, more_codes, more = _by_token(tok, words, others, book)
    pairs = np.unique(
        np.concatenate([index.named(np.concatenate(rows), np.concatenate(codes)), more.named(more_rows, more_codes)])
    )
    return np.divmod(pairs, index.size)


def _cut(tok: _Tokeniser, texts: pa.Array, rows: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """The tokens of ``texts[rows]`` as ``keys`` cuts them (upper case, split, separators
    stripped, empty ones dropped) and the row each comes from, in text order."""
    split = pc.split_pattern_regex(pc.utf8_upper(texts.take(pa.array(rows, type=pa.int64()))), tok.split.pattern)
    tokens = pc.list_flatten(split)
    owner = rows[pc.list_parent_indices(split).to_numpy()]
    if tok.opts.separators:
        tokens = pc.utf8_trim(tokens, tok.opts.separators)
    kept = pc.greater(pc.utf8_length(tokens), 0)
    return tokens.filter(kept), owner[kept.to_numpy(zero_copy_only=False)]


def _joins(
    tok: _Tokeniser, tokens: pa.Array, owner: np.ndarray, length: np.ndarray
) -> tuple[np.ndarray, np.ndarray, pa.Array]:
    """Every join ``_Tokeniser._group`` may try: (first token, token after the last, the
    normalised join, blanked when shorter than ``min_joined_length``), by first token and then
    ascending length."""
    opts = tok.opts
    n = len(owner)
    empty = np.empty(0, dtype=np.int64)
    if not opts.join_groups or n < 2:
        return empty, empty, pa.array([], type=pa.large_string())
    idx = np.arange(n)
    # a short token with a digit may be glued to the one before it
    glue = (length <= opts.max_group_length) & pc.match_substring_regex(tokens, "[0-9]").to_numpy(zero_copy_only=False)
    new_row = np.r_[True, owner[1:] != owner[:-1]]
    # run[j]: how many tokens from j on, in j's text, may be glued on
    no_glue = np.minimum.accumulate(np.where(glue, n, idx)[::-1])[::-1]
    next_row = np.r_[np.minimum.accumulate(np.where(new_row, idx, n)[::-1])[::-1][1:], n]
    run = np.minimum(no_glue, next_row) - idx
    start = np.flatnonzero((length[:-1] <= opts.max_group_length) & ~new_row[1:] & glue[1:])
    extra = np.minimum(run[start + 1], opts.max_groups - 1)
    first = np.repeat(start, extra)
    size = 2 + np.arange(int(extra.sum())) - np.repeat(np.cumsum(extra) - extra, extra)
    if not len(first):
        return empty, empty, pa.array([], type=pa.large_string())
    parts = np.repeat(first, size) + np.arange(int(size.sum())) - np.repeat(np.cumsum(size) - size, size)
    lists = pa.LargeListArray.from_arrays(pa.array(np.r_[0, np.cumsum(size)]), tokens.take(pa.array(parts)))
    keys = tok.norm_array(pc.binary_join(lists, pa.scalar("", tokens.type)))
    short = pc.less(pc.utf8_length(keys), opts.min_joined_length)
    return first, first + size, pc.if_else(short, pa.scalar("", keys.type), keys)


def _walk(
    owner: np.ndarray, first: np.ndarray, stop: np.ndarray, join_code: np.ndarray
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Which tokens ``keys`` reads on their own, and which joins it takes (as (first token,
    candidate) positions): from each token on, the longest known join, else the token alone."""
    single = np.ones(len(owner), dtype=bool)
    hit = np.flatnonzero(join_code >= 0)
    if not len(hit):
        return single, (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
    # candidates come by first token, then ascending length: the last hit of a start is its longest
    last = hit[np.r_[first[hit][1:] != first[hit][:-1], True]]
    longest = dict(zip(first[last].tolist(), zip(stop[last].tolist(), last.tolist())))
    taken_first: list[int] = []
    taken: list[int] = []
    starts = sorted(longest)
    # only texts with a known join are walked; a token inside a taken join is not read again
    walked = np.unique(owner[starts])
    for j, end in zip(np.searchsorted(owner, walked).tolist(), np.searchsorted(owner, walked, side="right").tolist()):
        while j < end:
            found = longest.get(j)
            if found is None:
                j += 1
                continue
            single[j : found[0]] = False
            taken_first.append(j)
            taken.append(found[1])
            j = found[0]
    return single, (np.asarray(taken_first, dtype=np.int64), np.asarray(taken, dtype=np.int64))


def _by_token(
    tok: _Tokeniser, words: list[tuple[int, str]], texts: list[tuple[int, str]], book: _Book
) -> tuple[np.ndarray, np.ndarray, _KeyIndex]:
    """(row, position in the returned index) pairs of what ``tok`` finds in single ``words``
    and whole ``texts``.

    First asked against a ``known`` that knows nothing, to learn every key it may ask for
    (answers only cut that short); then against those of them that are known.
    """
    asked = _Recorder()
    for _, word in words:
        tok._single(word, asked)
    for _, text in texts:
        tok.keys(text, asked)
    questions = sorted(asked.asked)
    index = book.index(pa.array(questions, type=pa.large_string()))
    small = {questions[c]: c for c in np.flatnonzero(index.known).tolist()}
    rows: list[int] = []
    codes: list[int] = []
    for row, word in words:
        for key in tok._single(word, small):
            rows.append(row)
            codes.append(small[key])
    for row, text in texts:
        for key in tok.keys(text, small):
            rows.append(row)
            codes.append(small[key])
    return np.asarray(rows, dtype=np.int64), np.asarray(codes, dtype=np.int64), index
