"""Linear-chain CRF scores for token classification: the training loss (negative log-likelihood).

The learned scores live in one ``[T + 2, T]`` tensor: rows ``0..T-1`` are transitions
``scores[from, to]``, row ``T`` the start scores, row ``T + 1`` the end scores. Decoding (Viterbi
with the tag scheme's constraints added) is ``roots_zh.data.ner_qa.viterbi_paths(..., crf=scores)``.
Positions whose label is ``IGNORE_INDEX`` (special tokens, padding, units that cannot be aligned)
are skipped: the chain links the labelled positions around them.
"""
from __future__ import annotations

import paddle

from .masks import IGNORE_INDEX

# The transition scores learn this many times faster than the encoder (ParamAttr learning_rate).
CRF_LR_SCALE = 100.0
# ``config.extra`` key of the saved copy of the scores (read by exported runtimes, which have no parameters)
CRF_SCORES_KEY = "crf_scores"


def log_partition(emissions, mask, scores):
    """``log sum_path exp(score(path))`` per sequence ``[B]``; ``emissions`` ``[B, L, T]``, ``mask``
    ``[B, L]`` (1 where a position takes part), ``scores`` ``[T + 2, T]``."""
    n_tags = emissions.shape[-1]
    trans, start, end = scores[:n_tags], scores[n_tags], scores[n_tags + 1]
    mask = mask.astype(emissions.dtype)
    alpha = paddle.zeros([emissions.shape[0], n_tags], dtype=emissions.dtype)
    started = paddle.zeros([emissions.shape[0], 1], dtype=emissions.dtype)
    for t in range(emissions.shape[1]):
        emit = emissions[:, t]
        on = mask[:, t:t + 1]
        step = paddle.logsumexp(alpha.unsqueeze(2) + trans, axis=1) + emit
        step = started * step + (1.0 - started) * (start + emit)
        alpha = on * step + (1.0 - on) * alpha
        started = paddle.maximum(started, on)
    return paddle.logsumexp(alpha + end, axis=1)


def crf_loss(emissions, labels, scores):
    """Negative log-likelihood of the gold tag paths, summed over sequences and divided by the
    number of labelled positions (the scale of per-token cross-entropy). The gold path's score is
    the partition of emissions that allow only the gold tag, so both terms share one recursion."""
    labels = labels.astype("int64")
    mask = labels != IGNORE_INDEX
    n_tags = emissions.shape[-1]
    gold_only = paddle.nn.functional.one_hot(paddle.where(mask, labels, paddle.zeros_like(labels)), n_tags)
    penalty = (1.0 - gold_only.astype(emissions.dtype)) * -1e4
    both = log_partition(paddle.concat([emissions, emissions + penalty]), paddle.concat([mask, mask]), scores)
    batch = emissions.shape[0]
    nll = both[:batch] - both[batch:]
    return nll.sum() / paddle.clip(mask.astype(emissions.dtype).sum(), min=1.0)
