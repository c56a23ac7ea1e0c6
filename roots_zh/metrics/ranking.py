"""Link-prediction ranking metrics (knowledge graphs)."""
from __future__ import annotations

from typing import Dict, Sequence

import numpy as np


def ranking_metrics(ranks: np.ndarray, ks: Sequence[int] = (1, 3, 10)) -> Dict[str, float]:
    """MRR and Hits@k over all (tail and head) ranks."""
    flat = np.asarray(ranks, dtype=np.float64).reshape(-1)
    if flat.size == 0 or flat.min() < 1:
        raise ValueError("`ranks` must be a non-empty array of ranks >= 1")
    out = {"mrr": float((1.0 / flat).mean()), "mean_rank": float(flat.mean())}
    out.update({f"hits@{k}": float((flat <= k).mean()) for k in ks})
    return out
