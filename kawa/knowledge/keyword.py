"""BM25 keyword index over a dataset's chunks: English words, Japanese (and other CJK) as character bigrams."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np
import numpy.typing as npt

from kawa.models.embedded.rerank import terms

K1 = 1.5
B = 0.75


class KeywordIndex:
    """An inverted index built once per dataset revision; `scores(query)` gives one BM25 score per chunk."""

    def __init__(self, texts: list[str]) -> None:
        self.size = len(texts)
        postings: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
        lengths = np.zeros(self.size, dtype=np.float32)
        for row, text in enumerate(texts):
            counts = Counter(terms(text))
            lengths[row] = sum(counts.values())
            for term, tf in counts.items():
                rows, tfs = postings[term]
                rows.append(row)
                tfs.append(tf)
        self._postings = {
            t: (np.asarray(r, dtype=np.int32), np.asarray(f, dtype=np.float32)) for t, (r, f) in postings.items()
        }
        avg = float(lengths.mean()) if self.size else 1.0
        self._norm = K1 * (1 - B + B * lengths / (avg or 1.0))

    def scores(self, query: str) -> npt.NDArray[np.float32]:
        out = np.zeros(self.size, dtype=np.float32)
        for term in set(terms(query)):
            posting = self._postings.get(term)
            if posting is None:
                continue
            rows, tf = posting
            idf = math.log(1 + (self.size - len(rows) + 0.5) / (len(rows) + 0.5))
            out[rows] += idf * tf * (K1 + 1) / (tf + self._norm[rows])
        return out


def normalise(scores: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """BM25 scores scaled into [0, 1] by the best score of the query (0 when nothing matched)."""
    top = float(scores.max()) if scores.size else 0.0
    return scores / top if top > 0 else scores
