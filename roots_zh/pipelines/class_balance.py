"""Imbalanced classification for ``TextClassifier.fit``: class-weighted cross-entropy and, for two-class
tasks, a decision threshold on P(second label) chosen on the eval set and saved in the config
(``config.extra["decision_threshold"]``) so ``predict`` / ``evaluate`` use it after loading."""
from __future__ import annotations

import math
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

THRESHOLD_KEY = "decision_threshold"


def resolve_class_weights(class_weights: Any, label_ids: Sequence[int], num_labels: int) -> Optional[List[float]]:
    """``None`` (plain loss), ``"balanced"`` (``n / (num_labels * count_c)``, as scikit-learn; a class
    absent from training gets 1.0) or one positive finite weight per label, in label order."""
    if class_weights is None:
        return None
    if isinstance(class_weights, str):
        if class_weights != "balanced":
            raise ValueError(f"`class_weights`={class_weights!r} is not valid; use 'balanced', a list of "
                             f"{num_labels} positive numbers or None")
        counts = np.bincount(np.asarray(label_ids, dtype=np.int64), minlength=num_labels)
        n = float(counts.sum())
        return [n / (num_labels * c) if c else 1.0 for c in counts.tolist()]
    if not isinstance(class_weights, (list, tuple)):
        raise ValueError(f"`class_weights` must be 'balanced', a list of {num_labels} positive numbers or None, "
                         f"got {type(class_weights).__name__}")
    if len(class_weights) != num_labels:
        raise ValueError(f"`class_weights` has {len(class_weights)} values but the classifier has {num_labels} labels")
    out = []
    for i, w in enumerate(class_weights):
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w) or w <= 0:
            raise ValueError(f"`class_weights[{i}]`={w!r} is not a positive finite number")
        out.append(float(w))
    return out


def check_threshold(threshold: Any, num_labels: int, has_eval: bool) -> Any:
    """``None`` (argmax), ``"auto"`` (chosen on the eval set) or a float in (0, 1); two labels only."""
    if threshold is None:
        return None
    if num_labels != 2:
        raise ValueError(f"`threshold` applies to two-class classifiers; this one has {num_labels} labels")
    if isinstance(threshold, str):
        if threshold != "auto":
            raise ValueError(f"`threshold`={threshold!r} is not valid; use 'auto', a float in (0, 1) or None")
        if not has_eval:
            raise ValueError("`threshold`='auto' is chosen on the eval set: pass `eval_texts` and `eval_labels`")
        return threshold
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold < 1:
        raise ValueError(f"`threshold`={threshold!r} must be 'auto', a float in (0, 1) or None")
    return float(threshold)


THRESHOLD_METRICS = ("accuracy", "macro_f1")


def choose_threshold(positive_probs: np.ndarray, gold: np.ndarray, metric: str = "accuracy",
                     score_range: Tuple[float, float] = (0.0, 1.0)) -> Tuple[float, float]:
    """``(threshold, score)``: the cut on P(label 1) (predict 1 when ``p >= threshold``) with the best
    ``metric`` (``"accuracy"`` or ``"macro_f1"``, the mean F1 of both classes: a cut that answers
    one class scores low) on ``gold`` (0/1); candidates are the middle of ``score_range`` (0.5 for
    probabilities; ``(-1, 1)`` for cosines) and the midpoints between consecutive distinct scores, kept
    inside the range; ties go to the candidate nearest its middle."""
    if metric not in THRESHOLD_METRICS:
        raise ValueError(f"`metric`={metric!r} is not valid; choose one of {list(THRESHOLD_METRICS)}")
    p = np.asarray(positive_probs, dtype=np.float64)
    y = np.asarray(gold, dtype=np.int64)
    if p.shape != y.shape or p.ndim != 1 or not len(p):
        raise ValueError("`positive_probs` and `gold` must be 1-D and of the same non-zero length")
    low, high = score_range
    middle = (low + high) / 2
    values = np.unique(p)
    candidates = np.concatenate([[middle], (values[:-1] + values[1:]) / 2, [values[0], values[-1] + 1e-9]])
    candidates = np.clip(candidates, low + 1e-9, high - 1e-9)
    order = np.argsort(p)
    p_sorted, y_sorted = p[order], y[order]
    pos_total = int(y.sum())
    # predictions are 1 for p >= t: correct = (negatives below t) + (positives at/above t)
    cut = np.searchsorted(p_sorted, candidates, side="left")
    neg_below = np.concatenate([[0], np.cumsum(1 - y_sorted)])[cut]
    pos_below = np.concatenate([[0], np.cumsum(y_sorted)])[cut]
    acc = (neg_below + (pos_total - pos_below)) / len(p)
    score = acc
    if metric == "macro_f1":
        tp1, tn = pos_total - pos_below, neg_below  # class 1 right / class 0 right
        pred1, pred0 = len(p) - cut, cut
        neg_total = len(p) - pos_total
        with np.errstate(invalid="ignore", divide="ignore"):
            f1_pos = np.nan_to_num(2 * tp1 / (pred1 + pos_total))
            f1_neg = np.nan_to_num(2 * tn / (pred0 + neg_total))
        score = (f1_pos + f1_neg) / 2
    best = np.flatnonzero(score == score.max())
    pick = best[np.argmin(np.abs(candidates[best] - middle))]
    return float(candidates[pick]), float(score[pick])


def decide(probs: np.ndarray, threshold: Optional[float]) -> np.ndarray:
    """Label ids from ``[N, num_labels]`` probabilities: argmax, or ``p[:, 1] >= threshold`` (two labels)."""
    if threshold is None or probs.shape[-1] != 2:
        return probs.argmax(-1)
    return (probs[:, 1] >= threshold).astype(np.int64)


def weighted_loss_model(model, weights: Sequence[float]):
    """``model`` wrapped so its loss is class-weighted cross-entropy (mean over the batch, weighted);
    parameters, state dict and ``save_pretrained`` are the wrapped model's."""
    import paddle
    import paddle.nn.functional as F

    from ..modeling.outputs import SequenceClassifierOutput

    class WeightedLoss(paddle.nn.Layer):
        def __init__(self, inner, class_weights):
            super().__init__()
            self.model = inner
            self.class_weights = [float(w) for w in class_weights]

        def forward(self, labels=None, **inputs):
            out = self.model(**inputs)
            logits = out.logits
            loss = None
            if labels is not None:
                weight = paddle.to_tensor(self.class_weights, dtype=logits.dtype)
                loss = F.cross_entropy(logits, labels.reshape([-1]).astype("int64"), weight=weight)
            return SequenceClassifierOutput(loss, logits)

        def save_pretrained(self, *args, **kwargs):
            return self.model.save_pretrained(*args, **kwargs)

    return WeightedLoss(model, weights)
