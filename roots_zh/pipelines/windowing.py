"""Sliding windows over long token sequences and the "max context" rule for merging them.

``stride`` is the number of tokens two neighbouring windows share (the HF tokenizers convention;
the original BERT ``doc_stride`` is the step instead: step = size - stride here).
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np

from ..utils.validation import check_positive_int

Window = Tuple[int, int]  # [start, end) token indices


def sliding_windows(n_tokens: int, size: int, stride: int) -> List[Window]:
    """Windows of at most ``size`` tokens covering ``range(n_tokens)``, neighbours overlapping by
    ``stride`` tokens (clamped to ``size - 1``); ``[]`` for no tokens, one window when it fits."""
    check_positive_int(size, "size")
    if isinstance(stride, bool) or not isinstance(stride, int) or stride < 0:
        raise ValueError(f"`stride` must be an int >= 0, got {stride!r}")
    if n_tokens <= 0:
        return []
    step = size - min(stride, size - 1)
    windows, start = [], 0
    while True:
        end = min(start + size, n_tokens)
        windows.append((start, end))
        if end == n_tokens:
            return windows
        start += step


def max_context_owner(windows: Sequence[Window], n_tokens: int) -> np.ndarray:
    """For each token, the index of the window where it has the most context on its poorer side
    (BERT's ``_check_is_max_context``; ties go to the earlier window)."""
    owner = np.full(n_tokens, -1, dtype=np.int64)
    best = np.full(n_tokens, -1.0)
    for w, (start, end) in enumerate(windows):
        idx = np.arange(start, end)
        score = np.minimum(idx - start, end - 1 - idx) + 0.01 * (end - start)
        better = score > best[start:end]
        owner[start:end][better] = w
        best[start:end][better] = score[better]
    return owner


def encode_with_offsets(tokenizer, texts: List[str]) -> List[Dict[str, list]]:
    """Content token ids (no special tokens) and char offsets into each original text."""
    if not texts:
        return []
    enc = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True)
    return [{"ids": list(ids), "offsets": [tuple(o) for o in offs]}
            for ids, offs in zip(enc["input_ids"], enc["offset_mapping"])]
