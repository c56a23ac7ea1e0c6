"""Small numpy helpers shared across layers."""
from __future__ import annotations

import numpy as np


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax in float32 numpy (Paddle's CPU log_softmax over a 16k vocabulary was slow)."""
    logits = np.asarray(logits, dtype=np.float32)
    shifted = logits - logits.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def mean_log_probs(probabilities, weights=None) -> np.ndarray:
    """The (weighted) mean of several models' log-probabilities ``[N, C]``, clipped at 1e-12: an
    ensemble's logits (a normalised geometric mean of the distributions after a softmax)."""
    logs = [np.log(np.clip(p, 1e-12, None)) for p in probabilities]
    return np.average(logs, axis=0, weights=weights).astype(np.float32)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float32 numpy: the one place pipelines turn backend logits into probabilities."""
    return np.exp(log_softmax(logits))
