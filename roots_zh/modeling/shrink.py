"""A smaller model of the same class, started from a trained one: the student of a distillation.

The embedding tables (word, position, token type) are projected onto the top ``hidden_size``
principal directions of the trained word embeddings (one projection for all three, so their sums
stay consistent); with an unchanged width, evenly spaced trained layers are copied (as DistilBERT
takes every other layer). Everything else starts fresh.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

def embedding_projection(word_embeddings: np.ndarray, width: int) -> np.ndarray:
    """``[H, width]``: the top ``width`` right singular vectors of the (centred) word embeddings."""
    if not 0 < width <= word_embeddings.shape[1]:
        raise ValueError(f"`hidden_size`={width} must be in 1..{word_embeddings.shape[1]} (the model's width)")
    centred = word_embeddings - word_embeddings.mean(axis=0, keepdims=True)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return vt[:width].T.astype(word_embeddings.dtype)


def shrink_model(model, hidden_size: Optional[int] = None, num_hidden_layers: Optional[int] = None,
                 intermediate_size: Optional[int] = None, num_attention_heads: Optional[int] = None):
    """A new ``type(model)`` with the given sizes (``None``: the model's own); see the module docstring.
    ``intermediate_size`` defaults to 4 × ``hidden_size`` and the heads to ``hidden_size // 64``
    when the width changes."""
    config = model.config
    width = hidden_size or config.hidden_size
    sizes = {"hidden_size": width, "num_hidden_layers": num_hidden_layers or config.num_hidden_layers,
             "intermediate_size": intermediate_size or (4 * width if width != config.hidden_size
                                                        else config.intermediate_size),
             "num_attention_heads": num_attention_heads or (max(1, width // 64) if width != config.hidden_size
                                                            else config.num_attention_heads)}
    if sizes["num_hidden_layers"] > config.num_hidden_layers:
        raise ValueError(f"`num_hidden_layers`={sizes['num_hidden_layers']} is more than the model's "
                         f"{config.num_hidden_layers}: shrink_model only makes smaller models")
    student = type(model)(type(config).from_dict({**config.to_dict(), **sizes}))
    teacher_emb, student_emb = model.roots.embeddings, student.roots.embeddings
    projection = embedding_projection(teacher_emb.word_embeddings.weight.numpy(), width)
    for name in ("word_embeddings", "position_embeddings", "token_type_embeddings", "task_type_embeddings"):
        table = getattr(teacher_emb, name)
        if table is not None:
            getattr(student_emb, name).weight.set_value(table.weight.numpy() @ projection)
    if width == config.hidden_size:
        n_teacher, n_student = config.num_hidden_layers, sizes["num_hidden_layers"]
        picked = np.linspace(0, n_teacher - 1, n_student).round().astype(int)
        for target, source in zip(student.roots.encoder.layers, picked):
            target.set_state_dict(model.roots.encoder.layers[int(source)].state_dict())
    return student
