"""Extractive summaries without a model: lead-N and TextRank sentence ranking (Mihalcea & Tarau 2004,
the same idea as SnowNLP's ``summary``), used as baselines and as a fallback that needs no weights."""
from __future__ import annotations

import re
from typing import List

import numpy as np

_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])")


def split_sentences(text: str) -> List[str]:
    """Sentences cut after Chinese/Latin end punctuation; empty pieces dropped."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def lead(text: str, n_chars: int) -> str:
    """The first ``n_chars`` characters."""
    return text[:n_chars]


def textrank(text: str, top_k: int = 1, damping: float = 0.85, iterations: int = 50) -> List[str]:
    """The ``top_k`` most central sentences (in text order). Similarity: shared characters over the log
    lengths (TextRank's word-overlap formula, characters instead of words); PageRank by power iteration."""
    sentences = split_sentences(text)
    if len(sentences) <= top_k:
        return sentences
    chars = [set(s) for s in sentences]
    n = len(sentences)
    sim = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            denom = np.log(len(sentences[i]) + 1) + np.log(len(sentences[j]) + 1)
            sim[i, j] = sim[j, i] = len(chars[i] & chars[j]) / denom if denom > 0 else 0.0
    out_weight = sim.sum(axis=1, keepdims=True)
    transition = np.divide(sim, out_weight, out=np.zeros_like(sim), where=out_weight > 0)
    score = np.full(n, 1.0 / n)
    for _ in range(iterations):
        score = (1 - damping) / n + damping * transition.T @ score
    keep = sorted(np.argsort(-score, kind="stable")[:top_k])
    return [sentences[i] for i in keep]
