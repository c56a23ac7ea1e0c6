"""The one attention-mask builder: the "semantic encoding layer" of ROOTS.

Bidirectional (understanding), causal (generation) and prefix (seq2seq: the source sees itself both
ways, the target sees the source and its own past) attention differ only in this mask, so one set of
weights serves all three. The layers only ever see the additive bias this returns.
"""
from __future__ import annotations

from typing import Optional

import paddle

IGNORE_INDEX = -100
MODES = ("bidirectional", "causal", "prefix")
MASK_VALUE = -1e4  # large enough to zero a softmax term, small enough for fp16


def build_attention_bias(
    attention_mask: Optional[paddle.Tensor],
    batch_size: int,
    query_length,
    key_length,
    mode: str = "bidirectional",
    prefix_mask: Optional[paddle.Tensor] = None,
    dtype: str = "float32",
) -> Optional[paddle.Tensor]:
    """Return an additive bias broadcastable to ``[batch, heads, query, key]``, or ``None`` when
    nothing is hidden (no ``attention_mask`` and a single query that may see every key).

    Args:
        attention_mask: 1 = attend, 0 = padding. ``[B, K]`` (keys; with a cache K = past + query),
            ``[B, Q, K]`` or ``[B, 1, Q, K]``. ``None`` means every key is visible.
        mode: ``"bidirectional"``, ``"causal"`` or ``"prefix"``.
        prefix_mask: ``[B, K]``, 1 on source (prefix) positions; required for ``mode="prefix"``.
    """
    if mode not in MODES:
        raise ValueError(f"`mode`={mode!r} is not valid; choose one of {list(MODES)}")
    # one new query at the end of the keys (a cached decoding step) sees every key in every mode
    last_query_only = isinstance(query_length, int) and query_length == 1
    if attention_mask is not None:
        attention_mask = attention_mask.astype(dtype)
        if attention_mask.ndim == 2:
            visible = attention_mask.unsqueeze([1, 2])  # (B, 1, 1, K)
        elif attention_mask.ndim == 3:
            visible = attention_mask.unsqueeze(1)  # (B, 1, Q, K)
        elif attention_mask.ndim == 4:
            visible = attention_mask
        else:
            raise ValueError(f"`attention_mask` must be 2-D, 3-D or 4-D, got {attention_mask.ndim}-D")
    elif last_query_only:
        return None  # nothing is hidden: the layers skip the addition
    else:
        visible = paddle.ones([batch_size, 1, 1, 1], dtype=dtype)

    if mode != "bidirectional" and not last_query_only:
        past = key_length - query_length
        q_pos = paddle.arange(query_length, dtype="int64").unsqueeze(1) + past  # (Q, 1)
        k_pos = paddle.arange(key_length, dtype="int64").unsqueeze(0)  # (1, K)
        allowed = (k_pos <= q_pos).astype(dtype).unsqueeze([0, 1])  # (1, 1, Q, K)
        if mode == "prefix":
            if prefix_mask is None:
                raise ValueError("`prefix_mask` is required when mode='prefix'")
            if prefix_mask.ndim != 2:
                raise ValueError(f"`prefix_mask` must be [batch, key_length], got shape {prefix_mask.shape}")
            source = prefix_mask.astype(dtype).unsqueeze([1, 2])  # (B, 1, 1, K)
            allowed = paddle.maximum(allowed, source)
        visible = visible * allowed
    bias = (1.0 - visible) * MASK_VALUE
    bias.stop_gradient = True
    return bias
