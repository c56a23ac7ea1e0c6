"""Knowledge distillation for classifiers: the student learns the teacher's softened output distribution
(an ensemble's: the mean of its members' log-probabilities) and, where a text has one, its gold label
(Hinton et al. 2015; the prediction-layer loss of DistilBERT / TinyBERT). Unlabelled texts carry the
teacher term only, so in-domain text without labels can be used too."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..utils.numeric import mean_log_probs


def check_distillation(temperature: float, alpha: float) -> None:
    if not isinstance(temperature, (int, float)) or isinstance(temperature, bool) or temperature <= 0:
        raise ValueError(f"`temperature` must be a positive number, got {temperature!r}")
    if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or not 0.0 <= alpha <= 1.0:
        raise ValueError(f"`alpha` must be in [0, 1], got {alpha!r}")


def distillation_loss(student_logits, teacher_logits, labels=None, temperature: float = 2.0, alpha: float = 0.5):
    """``alpha * T^2 * KL(teacher_T || student_T)`` (mean over rows) ``+ (1 - alpha) *`` cross-entropy on
    the rows whose label is not ``IGNORE_INDEX`` (``T^2`` keeps the gradient scale of the soft term
    independent of ``T``)."""
    import paddle
    import paddle.nn.functional as F

    from ..modeling.heads import token_cross_entropy

    t = float(temperature)
    log_student = F.log_softmax(student_logits / t, axis=-1)
    log_teacher = F.log_softmax(teacher_logits.astype(student_logits.dtype) / t, axis=-1)
    soft = (paddle.exp(log_teacher) * (log_teacher - log_student)).sum(axis=-1).mean() * (t * t)
    if labels is None or alpha >= 1.0:
        return soft
    return alpha * soft + (1.0 - alpha) * token_cross_entropy(student_logits, labels)


def distillation_model(model, temperature: float = 2.0, alpha: float = 0.5):
    """``model`` wrapped so that a batch with ``teacher_logits`` trains on :func:`distillation_loss`;
    parameters, state dict and ``save_pretrained`` are the wrapped model's."""
    import paddle

    from ..modeling.outputs import SequenceClassifierOutput

    check_distillation(temperature, alpha)

    class Distilled(paddle.nn.Layer):
        def __init__(self, inner):
            super().__init__()
            self.model = inner

        def forward(self, labels=None, teacher_logits=None, **inputs):
            logits = self.model(**inputs).logits
            loss = None
            if teacher_logits is not None:
                loss = distillation_loss(logits, teacher_logits, labels, temperature, alpha)
            return SequenceClassifierOutput(loss, logits)

        def save_pretrained(self, *args, **kwargs):
            return self.model.save_pretrained(*args, **kwargs)

    return Distilled(model)


def check_probabilities(probs: np.ndarray, shape: tuple, field: str) -> None:
    """A teacher given as probabilities: ``shape``, finite, non-negative, rows summing to 1."""
    if probs.shape != shape:
        raise ValueError(f"`{field}` has shape {probs.shape}; expected {shape} (texts x labels)")
    if not np.isfinite(probs).all() or (probs < 0).any() or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError(f"`{field}` must hold probabilities: finite, non-negative, each row summing to 1")


def ensemble_log_probs(probabilities: Sequence[np.ndarray]) -> np.ndarray:
    """Teacher logits of an ensemble: the mean of its members' log-probabilities ``[N, C]`` (a
    normalised geometric mean of their distributions; a softmax of it gives the ensemble's)."""
    if not probabilities:
        raise ValueError("`teachers` is empty: distillation needs at least one teacher")
    shapes = {p.shape for p in probabilities}
    if len(shapes) != 1:
        raise ValueError(f"the teachers' outputs differ in shape: {sorted(shapes)}")
    return mean_log_probs(probabilities)

