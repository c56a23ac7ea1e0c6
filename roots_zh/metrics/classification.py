"""Classification metrics."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def accuracy(gold: Sequence[int], predicted: Sequence[int]) -> float:
    """Share of ``predicted`` labels equal to ``gold`` (0.0 on an empty set)."""
    gold, predicted = np.asarray(gold), np.asarray(predicted)
    if gold.shape != predicted.shape:
        raise ValueError(f"`gold` has shape {gold.shape} but `predicted` has {predicted.shape}")
    return float((gold == predicted).mean()) if gold.size else 0.0
