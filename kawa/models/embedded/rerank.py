"""Embedded reranking without a cross-encoder (no package ships one): embedding cosine fused with BM25, as Dify's
"weighted score" mode does."""

from __future__ import annotations

import math
import re
from collections import Counter

_WORD = re.compile(r"[0-9a-z]+|[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]", re.IGNORECASE)


def terms(text: str) -> list[str]:
    """Lower-cased words; CJK text as character bigrams, so Japanese matches without a morphological analyser."""
    tokens = [t.lower() for t in _WORD.findall(text)]
    out: list[str] = []
    for i, tok in enumerate(tokens):
        if len(tok) == 1 and ord(tok) >= 0x3040:
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            out.append(tok + nxt if len(nxt) == 1 and ord(nxt) >= 0x3040 else tok)
        else:
            out.append(tok)
    return out


def bm25_scores(query: str, documents: list[str], k1: float = 1.5, b: float = 0.75) -> list[float]:
    docs = [terms(d) for d in documents]
    if not docs:
        return []
    avg = sum(len(d) for d in docs) / len(docs) or 1.0
    df: Counter[str] = Counter()
    for d in docs:
        df.update(set(d))
    n = len(docs)
    scores = []
    for d in docs:
        tf = Counter(d)
        score = 0.0
        for term in set(terms(query)):
            if term not in tf:
                continue
            idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
            score += idf * tf[term] * (k1 + 1) / (tf[term] + k1 * (1 - b + b * len(d) / avg))
        scores.append(score)
    return scores


def fuse(cosines: list[float], lexical: list[float], vector_weight: float = 0.7) -> list[float]:
    """Weighted sum of cosine and max-normalised BM25, each in [0, 1]."""
    top = max(lexical, default=0.0) or 1.0
    return [vector_weight * c + (1 - vector_weight) * (s / top) for c, s in zip(cosines, lexical, strict=True)]
