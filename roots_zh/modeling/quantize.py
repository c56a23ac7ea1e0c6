"""Int8 weight-only storage for full checkpoints (opt-in: ``save_pretrained(dtype="int8")``).

A safetensors file is in this format when its metadata holds ``roots_weight_dtype = "int8"``;
``load_weights`` then dequantizes it to float32, so loading needs no flag. Layout:

* every floating 2-D tensor with both dims >= ``MIN_DIM`` and ``MIN_SIZE`` values (linear weights ``[in, out]``, embedding
  tables ``[vocab, hidden]``, the tied word embeddings) is stored as ``<name>`` (int8 in
  [-127, 127], symmetric) plus ``<name>::int8_scale`` (float32). The scale has shape
  ``[rows, 1]`` (one per row) or ``[1, cols]`` (one per column: a Linear's output channel);
  ``value = int8 * scale``. The writer picks, per tensor, the axis with the lower squared error.
* everything else (biases, LayerNorms, small heads, e.g. a ``[hidden, 2]`` classifier or CRF scores) as float16;
  non-float tensors unchanged.

* optionally, only some rows of an int8 table (``prune_rows``: e.g. the word pieces a character-level
  tokenizer never produces): ``<name>`` holds the kept rows, ``<name>::stored_rows`` (uint8, one per
  row of the full table) marks them, and the other rows load as zeros.

``::`` cannot occur in a parameter name (dotted Python identifiers), so scale names never collide.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Tuple

import numpy as np

METADATA_KEY = "roots_weight_dtype"
INT8 = "int8"
SCALE_SUFFIX = "::int8_scale"
ROWS_SUFFIX = "::stored_rows"
MIN_DIM = 16
MIN_SIZE = 1024  # smaller tables (e.g. CRF transition scores) stay float16
QMAX = 127


def is_quantizable(value: np.ndarray) -> bool:
    """A floating 2-D tensor with both dims >= ``MIN_DIM`` and at least ``MIN_SIZE`` values."""
    return value.dtype.kind == "f" and value.ndim == 2 and min(value.shape) >= MIN_DIM and value.size >= MIN_SIZE


def quantize_along(weight: np.ndarray, axis: int) -> Tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 with one scale per slice: ``axis=1`` gives per-row scales ``[rows, 1]``,
    ``axis=0`` per-column scales ``[1, cols]``."""
    weight = np.asarray(weight, dtype=np.float32)
    scale = np.abs(weight).max(axis=axis, keepdims=True) / QMAX
    safe = np.where(scale > 0, scale, 1.0)
    q = np.clip(np.rint(weight / safe), -QMAX, QMAX).astype(np.int8)
    return q, scale.astype(np.float32)


def dequantize(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return q.astype(np.float32) * scale.astype(np.float32)


def quantize_tensor(name: str, weight: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Per-row or per-column int8, whichever reconstructs ``weight`` with less squared error."""
    weight = np.asarray(weight, dtype=np.float32)
    if not np.isfinite(weight).all():
        raise ValueError(f"cannot store {name!r} as int8: it holds NaN or inf values")
    best = None
    for axis in (0, 1):  # columns (Linear output channels) first: they win ties
        q, scale = quantize_along(weight, axis)
        error = float(np.square(dequantize(q, scale) - weight).sum())
        if best is None or error < best[0]:
            best = (error, q, scale)
    return best[1], best[2]


def quantize_state(state: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """The arrays of an int8 file: int8 + scales for the big matrices, float16 for the rest."""
    arrays: Dict[str, np.ndarray] = {}
    for name, value in state.items():
        if name.endswith((SCALE_SUFFIX, ROWS_SUFFIX)):
            raise ValueError(f"tensor name {name!r} ends with a reserved suffix ({SCALE_SUFFIX!r}, {ROWS_SUFFIX!r})")
        value = np.asarray(value)
        if is_quantizable(value):
            arrays[name], arrays[name + SCALE_SUFFIX] = quantize_tensor(name, value)
        elif value.dtype.kind == "f":
            arrays[name] = value.astype(np.float16)
        else:
            arrays[name] = value
    return {k: np.ascontiguousarray(v) for k, v in arrays.items()}


def _check_pair(name: str, q: np.ndarray, scale: np.ndarray, path: Path) -> None:
    where = f"int8 weights {path}: tensor {name!r}"
    if q.dtype != np.int8:
        raise ValueError(f"{where} has a scale but dtype {q.dtype}, expected int8")
    if q.ndim != 2:
        raise ValueError(f"{where} must be 2-D, got shape {tuple(q.shape)}")
    if scale.dtype.kind != "f":
        raise ValueError(f"{where}: scale {name + SCALE_SUFFIX!r} has dtype {scale.dtype}, expected float")
    rows, cols = q.shape
    if tuple(scale.shape) not in ((rows, 1), (1, cols)):
        raise ValueError(f"{where}: scale shape {tuple(scale.shape)} does not match the tensor shape "
                         f"{(rows, cols)} (expected {(rows, 1)} or {(1, cols)})")
    if not np.isfinite(scale).all() or (scale < 0).any():
        raise ValueError(f"{where}: scale holds negative, NaN or inf values")


def prune_rows(arrays: Dict[str, np.ndarray], name: str, keep: np.ndarray) -> Dict[str, np.ndarray]:
    """The arrays of an int8 file with only the ``keep`` rows (bool, one per row) of int8 tensor
    ``name`` stored; a per-row scale is cut the same way, a per-column one kept, so the stored rows
    dequantize exactly as before and the others load as zeros."""
    keep = np.asarray(keep, dtype=bool)
    if name not in arrays or name + SCALE_SUFFIX not in arrays:
        raise ValueError(f"`name`={name!r} is not an int8 tensor of these weights")
    if name + ROWS_SUFFIX in arrays:
        raise ValueError(f"tensor {name!r} is already pruned")
    q, scale = arrays[name], arrays[name + SCALE_SUFFIX]
    if keep.shape != (q.shape[0],):
        raise ValueError(f"`keep` must have one flag per row of {name!r} ({q.shape[0]}), got shape {keep.shape}")
    out = dict(arrays)
    out[name] = np.ascontiguousarray(q[keep])
    if scale.shape[0] == q.shape[0] and scale.shape[1] == 1:
        out[name + SCALE_SUFFIX] = np.ascontiguousarray(scale[keep])
    out[name + ROWS_SUFFIX] = keep.astype(np.uint8)
    return out


def _expand_rows(name: str, compact: np.ndarray, stored: np.ndarray, path: Path) -> np.ndarray:
    if stored.ndim != 1 or stored.dtype != np.uint8 or int(stored.sum()) != compact.shape[0]:
        raise ValueError(f"int8 weights {path}: {name + ROWS_SUFFIX!r} must be uint8 flags marking the "
                         f"{compact.shape[0]} stored rows of {name!r}")
    full = np.zeros((stored.size,) + compact.shape[1:], dtype=compact.dtype)
    full[stored.astype(bool)] = compact
    return full


def dequantize_state(arrays: Dict[str, np.ndarray], path: Path) -> Dict[str, np.ndarray]:
    """float32 ``{name: array}`` from the arrays of an int8 file; ``ValueError`` naming the tensor
    and file when a scale is missing or orphaned, or a shape or dtype is wrong."""
    scales = {k[: -len(SCALE_SUFFIX)]: v for k, v in arrays.items() if k.endswith(SCALE_SUFFIX)}
    rows = {k[: -len(ROWS_SUFFIX)]: v for k, v in arrays.items() if k.endswith(ROWS_SUFFIX)}
    state: Dict[str, np.ndarray] = {}
    for name, value in arrays.items():
        if name.endswith((SCALE_SUFFIX, ROWS_SUFFIX)):
            is_scale = name.endswith(SCALE_SUFFIX)
            owner = name[: -len(SCALE_SUFFIX if is_scale else ROWS_SUFFIX)]
            if owner not in arrays:
                raise ValueError(f"int8 weights {path}: {'scale' if is_scale else 'row flags'} {name!r} "
                                 f"has no tensor {owner!r}")
            continue
        if name in scales:
            _check_pair(name, value, scales[name], path)
            state[name] = dequantize(value, scales[name])
        elif value.dtype == np.int8:
            raise ValueError(f"int8 weights {path}: tensor {name!r} is int8 but its scale "
                             f"{name + SCALE_SUFFIX!r} is missing")
        else:
            state[name] = value.astype(np.float32) if value.dtype.kind == "f" else value
        if name in rows:
            state[name] = _expand_rows(name, state[name], rows[name], path)
    return state
