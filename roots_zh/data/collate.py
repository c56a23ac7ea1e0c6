"""Collate: pad a batch of features (lists of dicts of int lists, from a tokenizer) and group
features of similar length into batches. Used by the Trainer and by every pipeline's predict."""
from __future__ import annotations

import random
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..utils.validation import check_positive_int

Feature = Dict[str, Sequence[int]]


def pad_batch(features: List[Feature], pad_ids: Dict[str, int]) -> Dict[str, np.ndarray]:
    """Pad each field to the longest row (int64; float32 for rows of floats); scalar fields (labels) are stacked."""
    out = {}
    for key in features[0]:
        values = [f[key] for f in features]
        if isinstance(values[0], (int, np.integer, float)):
            out[key] = np.asarray(values)
            continue
        width = max(len(v) for v in values)
        fill = pad_ids.get(key, 0)
        first = next((v[0] for v in values if len(v)), None)
        if isinstance(first, (list, tuple, np.ndarray)):  # rows of [len, K] (e.g. entity_ids) -> [B, S, K]
            arr = np.full((len(values), width, len(first)), fill, dtype=np.int64)
            for i, v in enumerate(values):
                if len(v):
                    arr[i, :len(v)] = v
            out[key] = arr
            continue
        real = isinstance(first, (float, np.floating))  # e.g. a teacher's logits per row
        arr = np.full((len(values), width), fill, dtype=np.float32 if real else np.int64)
        for i, v in enumerate(values):
            arr[i, :len(v)] = v
        out[key] = arr
    return out


# What one more model call costs, in padded tokens: Paddle Inference bf16, roots-sentiment, 2 threads here
# (a least-squares fit over 10 batch shapes from 1 x 32 to 32 x 128: 7.3 ms + 0.033 ms per token)
RUN_OVERHEAD_TOKENS = 225


def sorted_batches(lengths: Sequence[int], batch_size: int, max_tokens: Optional[int] = None,
                   run_overhead: Optional[int] = None) -> List[List[int]]:
    """Index batches for prediction, grouped by length (shortest first, stable) so little padding is run.

    A batch holds at most ``batch_size`` rows and, when ``max_tokens`` is given, at most ``max_tokens``
    padded tokens (rows x its longest row), so a batch of short texts can be larger than one of long texts
    (fairseq's ``max_tokens``); a single row longer than the budget still forms its own batch.
    ``run_overhead`` (padded tokens that one more model call costs, e.g. :data:`RUN_OVERHEAD_TOKENS`)
    places the cuts where they minimise ``calls x run_overhead + padded tokens`` under the same limits
    (dynamic programming over the sorted lengths) instead of filling each batch in turn."""
    check_positive_int(batch_size, "batch_size")
    check_positive_int(max_tokens, "max_tokens", allow_none=True)
    check_positive_int(run_overhead, "run_overhead", allow_none=True)
    order = np.argsort(np.asarray(lengths, dtype=np.int64), kind="stable")
    if run_overhead is not None:
        return [order[a:b].tolist() for a, b in _cheapest_cuts(np.asarray(lengths, dtype=np.int64)[order], batch_size,
                                                                 max_tokens, run_overhead)]
    batches: List[List[int]] = []
    current: List[int] = []
    for i in order:
        length = int(lengths[i])
        full = len(current) >= batch_size or (max_tokens is not None and (len(current) + 1) * length > max_tokens)
        if current and full:
            batches.append(current)
            current = []
        current.append(int(i))
    if current:
        batches.append(current)
    return batches


def _cheapest_cuts(sorted_lengths: np.ndarray, batch_size: int, max_tokens: Optional[int],
                   run_overhead: int) -> List[tuple]:
    """``[(start, end), ...]`` over ascending lengths minimising the calls' overhead + padded tokens."""
    n = len(sorted_lengths)
    best = np.zeros(n + 1)
    cut = np.zeros(n + 1, dtype=np.int64)
    for end in range(1, n + 1):
        starts = np.arange(max(0, end - batch_size), end)
        rows = end - starts
        cost = best[starts] + run_overhead + rows * sorted_lengths[end - 1]
        if max_tokens is not None:  # a single row over the budget still runs alone
            cost = np.where((rows * sorted_lengths[end - 1] > max_tokens) & (rows > 1), np.inf, cost)
        k = int(np.argmin(cost))
        best[end], cut[end] = cost[k], starts[k]
    spans, end = [], n
    while end > 0:
        spans.append((int(cut[end]), end))
        end = int(cut[end])
    return spans[::-1]


def bucketed_batches(features: List[Feature], batch_size: int, rng: random.Random,
                     shuffle: bool = True) -> List[List[int]]:
    """Index batches grouped by length (within chunks of 50 batches), in random order."""
    order = list(range(len(features)))
    if shuffle:
        rng.shuffle(order)
    chunk = batch_size * 50
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start:start + chunk], key=lambda i: len(features[i]["input_ids"]))
        batches += [part[i:i + batch_size] for i in range(0, len(part), batch_size)]
    if shuffle:
        rng.shuffle(batches)
    return batches
