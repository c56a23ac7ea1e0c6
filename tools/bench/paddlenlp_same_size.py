"""PaddleNLP's ``ErnieForSequenceClassification`` of the same size as a ROOTS config, randomly
initialised: the ``paddlenlp_same_size`` baseline of ``accuracy`` and ``tools/finetune.py --init paddlenlp``.

ROOTS and ERNIE share the layout (post-LN, GELU, learned positions, tanh pooler; see
``tests/modeling/test_convert.py``), so the same-size model differs only in implementation. PaddleNLP is
imported only when a model is built (it costs seconds and hundreds of MB); nothing is downloaded.
"""
from __future__ import annotations

import math
from typing import Any, Dict

from .common import BaselineSkipped

# RootsConfig fields that ErnieConfig takes under the same name
SHARED_FIELDS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                 "hidden_act", "hidden_dropout_prob", "attention_probs_dropout_prob", "max_position_embeddings",
                 "type_vocab_size", "initializer_range", "pad_token_id", "layer_norm_eps", "use_task_id",
                 "task_type_vocab_size", "task_id", "classifier_dropout", "num_labels")


def ernie_config_kwargs(config: Any) -> Dict[str, Any]:
    """``ErnieConfig`` keyword arguments for a ``RootsConfig`` (anything with its attributes).

    ``return_dict=True`` makes the model return ``.loss`` / ``.logits`` like ROOTS heads, so the
    ROOTS ``Trainer`` and ``TextClassifier`` run it unchanged."""
    missing = [f for f in SHARED_FIELDS if not hasattr(config, f)]
    if missing:
        raise ValueError(f"config {type(config).__name__} lacks {missing}; pass a RootsConfig")
    if getattr(config, "knowledge_fusion", None):
        raise ValueError("knowledge fusion has no PaddleNLP ERNIE counterpart; use a plain roots config")
    if config.num_labels < 2:
        raise ValueError(f"num_labels must be >= 2 for a classifier baseline, got {config.num_labels}")
    return {**{field: getattr(config, field) for field in SHARED_FIELDS}, "return_dict": True}


def import_paddlenlp_transformers():
    """``paddlenlp.transformers``, or :class:`BaselineSkipped` saying why it cannot be imported."""
    try:
        import paddlenlp.transformers as transformers
    except Exception as exc:  # noqa: BLE001 - version clashes raise more than ImportError
        raise BaselineSkipped(f"paddlenlp is not importable ({type(exc).__name__}: {exc}); "
                              "install the pins of setup.py's `paddlenlp` extra") from exc
    return transformers


def build_classifier(config: Any):
    """A randomly initialised ``ErnieForSequenceClassification`` sized like ``config``."""
    kwargs = ernie_config_kwargs(config)
    transformers = import_paddlenlp_transformers()
    return transformers.ErnieForSequenceClassification(transformers.ErnieConfig(**kwargs))


def parameter_count(model) -> int:
    """Number of parameters (trainable or not) of a paddle ``Layer``."""
    return sum(math.prod(p.shape) for p in model.parameters())
