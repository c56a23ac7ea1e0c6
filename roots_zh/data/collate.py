"""Collate: pad a batch of features (lists of dicts of int lists, from a tokenizer) and group
features of similar length into batches. Used by the Trainer and by every pipeline's predict."""
from __future__ import annotations

import random
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..utils.validation import check_positive_int

Feature = Dict[str, Sequence[int]]


def pad_batch(features: List[Feature], pad_ids: Dict[str, int]) -> Dict[str, np.ndarray]:
    """Pad each field to the longest row; scalar fields (labels) are stacked."""
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
        arr = np.full((len(values), width), fill, dtype=np.int64)
        for i, v in enumerate(values):
            arr[i, :len(v)] = v
        out[key] = arr
    return out


def sorted_batches(lengths: Sequence[int], batch_size: int, max_tokens: Optional[int] = None) -> List[List[int]]:
    """Index batches for prediction, grouped by length (shortest first, stable) so little padding is run.

    A batch holds at most ``batch_size`` rows and, when ``max_tokens`` is given, at most ``max_tokens``
    padded tokens (rows x its longest row), so a batch of short texts can be larger than one of long texts
    (fairseq's ``max_tokens``); a single row longer than the budget still forms its own batch."""
    check_positive_int(batch_size, "batch_size")
    check_positive_int(max_tokens, "max_tokens", allow_none=True)
    order = np.argsort(np.asarray(lengths, dtype=np.int64), kind="stable")
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
