"""Distributional initialisation of the word embeddings: PPMI + truncated SVD over the pretraining
token stream (Levy, Goldberg & Dagan, 2015).

On a 2-core CPU the hybrid MLM objective sees only tens of millions of tokens and sits near the
unigram plateau for thousands of steps; counting co-occurrences over the whole prepared corpus takes
about a minute and gives every frequent token a vector that already places it near the tokens it
appears with. The hybrid pretraining then starts from these vectors (stage 1 of roots-base).
"""
from __future__ import annotations

import logging
from typing import Iterable, Optional

import numpy as np

logger = logging.getLogger(__name__)


def cooccurrence_matrix(ids: np.ndarray, vocab_size: int, window: int = 5,
                        chunk: int = 4_000_000) -> np.ndarray:
    """Dense symmetric ``[V, V]`` float32 counts of token pairs within ``window``, weighted ``1/distance``."""
    if window < 1:
        raise ValueError(f"`window` must be >= 1, got {window}")
    ids = np.asarray(ids)
    if ids.ndim != 1 or len(ids) < 2:
        raise ValueError("`ids` must be a 1-D token stream of at least 2 tokens")
    if int(ids.max()) >= vocab_size:
        raise ValueError(f"token id {int(ids.max())} is outside `vocab_size`={vocab_size}")
    counts = np.zeros(vocab_size * vocab_size, dtype=np.float32)
    for start in range(0, len(ids), chunk):
        part = ids[start:start + chunk + window].astype(np.int64)
        for d in range(1, window + 1):
            if len(part) <= d:
                break
            keys = part[:-d] * vocab_size + part[d:]
            counts += np.bincount(keys, minlength=vocab_size * vocab_size).astype(np.float32) / d
    matrix = counts.reshape(vocab_size, vocab_size)
    return matrix + matrix.T


def ppmi(counts: np.ndarray, context_smoothing: float = 0.75) -> np.ndarray:
    """Positive PMI with context-distribution smoothing (``c(w)^0.75``), computed in place-friendly float32."""
    total = counts.sum(dtype=np.float64)
    if total <= 0:
        raise ValueError("the co-occurrence matrix is empty")
    rows = counts.sum(axis=1, dtype=np.float64)
    ctx = counts.sum(axis=0, dtype=np.float64) ** context_smoothing
    ctx /= ctx.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log(counts / total) - np.log(rows / total)[:, None].astype(np.float32) \
            - np.log(ctx)[None, :].astype(np.float32)
    pmi[~np.isfinite(pmi)] = 0.0
    np.maximum(pmi, 0.0, out=pmi)
    return pmi.astype(np.float32, copy=False)


def svd_embeddings(matrix: np.ndarray, dim: int, seed: int = 0, eig_power: float = 0.5) -> np.ndarray:
    """``U_k · S_k^p`` of a truncated randomized SVD (rows = tokens)."""
    try:
        from sklearn.utils.extmath import randomized_svd
    except ImportError as exc:
        raise ImportError("embed-init needs scikit-learn: pip install -e \".[pretrain]\"") from exc

    if dim < 1 or dim >= min(matrix.shape):
        raise ValueError(f"`dim`={dim} must be in [1, {min(matrix.shape)})")
    u, s, _ = randomized_svd(matrix, n_components=dim, n_iter=4, random_state=seed)
    return (u * s ** eig_power).astype(np.float32)


def distributional_embeddings(ids: np.ndarray, vocab_size: int, dim: int, *, window: int = 5,
                              min_count: int = 5, skip_ids: Iterable[int] = (), std: float = 0.02,
                              seed: int = 0, random_rows: Optional[np.ndarray] = None) -> dict:
    """Word-embedding table ``[V, dim]`` from PPMI-SVD, scaled to per-entry ``std``.

    Tokens seen fewer than ``min_count`` times, and ``skip_ids`` (special tokens), keep
    ``random_rows`` (or a fresh ``N(0, std)`` draw). Returns ``{"weight", "covered", "stats"}``."""
    rng = np.random.default_rng(seed)
    freq = np.bincount(np.asarray(ids, dtype=np.int64), minlength=vocab_size)
    counts = cooccurrence_matrix(ids, vocab_size, window)
    skip = np.zeros(vocab_size, dtype=bool)
    skip[list(skip_ids)] = True
    keep = (freq >= min_count) & ~skip
    counts[~keep, :] = 0.0
    counts[:, ~keep] = 0.0
    vectors = svd_embeddings(ppmi(counts), dim, seed)
    del counts
    vectors[keep] *= std / max(float(vectors[keep].std()), 1e-12)
    weight = (np.asarray(random_rows, dtype=np.float32).copy() if random_rows is not None
              else rng.normal(0.0, std, (vocab_size, dim)).astype(np.float32))
    if weight.shape != (vocab_size, dim):
        raise ValueError(f"`random_rows` must have shape {(vocab_size, dim)}, got {weight.shape}")
    weight[keep] = vectors[keep]
    token_share = float(freq[keep].sum() / max(1, freq.sum()))
    stats = {"tokens": int(len(ids)), "window": window, "min_count": min_count, "dim": dim,
             "covered_types": int(keep.sum()), "covered_token_share": round(token_share, 4)}
    logger.info("distributional embeddings: %s", stats)
    return {"weight": weight, "covered": keep, "stats": stats}
