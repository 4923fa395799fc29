"""Turning text into search tokens (pure). Used for listings' keywords, demands and matchmaking.

Text is NFKC-normalised (full-width letters and digits become ASCII) and lower-cased. Runs of Han
characters become overlapping character bigrams (`锂离子电池` -> 锂离, 离子, 子电, 电池), the usual
dictionary-free way to index Chinese: a query matches when all its bigrams occur, which finds any
substring of two or more characters. A lone Han character (a run of one) is kept as a unigram. Runs of
Latin letters and digits become words of two or more characters, minus a few English stop words.
"""

from __future__ import annotations

import re
import unicodedata

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUNS = re.compile(rf"[{_HAN}]+|[a-z0-9]+")
STOP_WORDS = frozenset({"a", "an", "and", "the", "of", "for", "in", "on", "to", "with", "by", "or", "is", "at"})
MAX_TOKEN_CHARS = 40


def _is_han(run: str) -> bool:
    return bool(re.match(rf"[{_HAN}]", run))


def tokens(text: str) -> list[str]:
    """Distinct tokens of `text`, in first-seen order."""
    normalised = unicodedata.normalize("NFKC", text).lower()
    out: dict[str, None] = {}
    for run in _RUNS.findall(normalised):
        if _is_han(run):
            if len(run) == 1:
                out[run] = None
            for i in range(len(run) - 1):
                out[run[i:i + 2]] = None
        elif len(run) >= 2 and run not in STOP_WORDS:
            out[run[:MAX_TOKEN_CHARS]] = None
    return list(out)


def query_tokens(text: str) -> list[str]:
    """Tokens a query must all match. Same rules as indexing, so every query token can be found."""
    return tokens(text)
