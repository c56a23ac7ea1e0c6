"""Read and write weight files (safetensors natively; PaddleNLP ``.pdparams`` read-only)."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np

from ..utils.files import atomic_save
from . import quantize

WEIGHTS_NAME = "model.safetensors"
PADDLE_WEIGHTS_NAME = "model_state.pdparams"
WEIGHT_FILES = (WEIGHTS_NAME, PADDLE_WEIGHTS_NAME)
DTYPES = (None, "float32", "float16", quantize.INT8)


def find_weights(directory: Path) -> Path:
    for name in WEIGHT_FILES:
        if (Path(directory) / name).is_file():
            return Path(directory) / name
    raise FileNotFoundError(f"no weights in {directory}: expected one of {list(WEIGHT_FILES)}")


def _read_safetensors(path: Path) -> Tuple[Dict[str, np.ndarray], Dict[str, str]]:
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as fh:
        return {k: fh.get_tensor(k) for k in fh.keys()}, dict(fh.metadata() or {})


def _decode(state: Dict[str, np.ndarray], metadata: Dict[str, str], path: Path) -> Dict[str, np.ndarray]:
    """Dequantize an int8 file (marked in its metadata); refuse unmarked int8 scales."""
    kind = metadata.get(quantize.METADATA_KEY)
    if kind == quantize.INT8:
        return quantize.dequantize_state(state, path)
    if kind is not None:
        raise ValueError(f"weights file {path}: unsupported {quantize.METADATA_KEY}={kind!r} in its "
                         f"metadata (this version reads {quantize.INT8!r})")
    stray = [k for k in state if k.endswith((quantize.SCALE_SUFFIX, quantize.ROWS_SUFFIX))]
    if stray:
        raise ValueError(f"weights file {path} holds int8 scales ({stray[0]!r}, ...) but its metadata lacks "
                         f"{quantize.METADATA_KEY}={quantize.INT8!r}: the header was damaged or rewritten")
    return state


def load_weights(path: Path) -> Dict[str, np.ndarray]:
    """``{name: float32 numpy array}`` from a safetensors or pdparams file; clear error if damaged.

    int8 files (``save_weights(..., dtype="int8")``) are detected from their metadata and
    dequantized to float32."""
    path = Path(path)
    metadata: Dict[str, str] = {}
    try:
        if path.suffix == ".safetensors":
            state, metadata = _read_safetensors(path)
        else:
            import paddle

            state = paddle.load(str(path), return_numpy=True)
    except Exception as err:  # safetensors/pickle errors carry no file name
        raise ValueError(f"cannot read weights {path}: {type(err).__name__}: {err} "
                         "(the file is truncated, corrupted or not a weight file)") from err
    if not isinstance(state, dict) or not state:
        raise ValueError(f"weights file {path} holds no tensors")
    state = _decode({k: np.asarray(v) for k, v in state.items()}, metadata, path)
    return {k: (v.astype(np.float32, copy=False) if v.dtype.kind == "f" else v) for k, v in state.items()}


def save_weights(state: Dict[str, np.ndarray], path: Path, dtype: Optional[str] = None) -> Path:
    """Write ``state`` as safetensors, atomically; ``dtype="float16"`` halves shipped size and
    ``dtype="int8"`` (weight-only, see :mod:`.quantize`) about halves it again."""
    from safetensors.numpy import save_file

    if dtype not in DTYPES:
        raise ValueError(f"`dtype`={dtype!r} is not valid; choose one of {list(DTYPES)}")
    metadata = {"format": "roots"}
    if dtype == quantize.INT8:
        arrays = quantize.quantize_state(state)
        metadata[quantize.METADATA_KEY] = quantize.INT8
    else:
        arrays = {}
        for key, value in state.items():
            value = np.ascontiguousarray(value)
            if dtype and value.dtype.kind == "f":
                value = value.astype(dtype)
            arrays[key] = value
    return atomic_save(path, lambda tmp: save_file(arrays, tmp, metadata=metadata))


def prune_rows(path: Path, name: str, keep: np.ndarray) -> Path:
    """Rewrite an int8 weights file (atomically) storing only the ``keep`` rows of tensor ``name``
    (:func:`.quantize.prune_rows`); the dropped rows load as zeros."""
    from safetensors.numpy import save_file

    path = Path(path)
    arrays, metadata = _read_safetensors(path)
    if metadata.get(quantize.METADATA_KEY) != quantize.INT8:
        raise ValueError(f"weights file {path} is not int8: only int8 weights store a subset of rows")
    arrays = quantize.prune_rows(arrays, name, keep)
    return atomic_save(path, lambda tmp: save_file(arrays, tmp, metadata=metadata))


def average_weights(paths) -> Dict[str, np.ndarray]:
    """The element-wise mean of several weight files of one architecture (a "model soup": fine-tunes
    of the same base, e.g. different seeds); integer tensors must agree and are kept as they are."""
    paths = [Path(p) for p in paths]
    if len(paths) < 2:
        raise ValueError(f"`paths` must name >= 2 weight files to average, got {len(paths)}")
    states = [load_weights(p) for p in paths]
    names = set(states[0])
    for path, state in zip(paths[1:], states[1:]):
        if set(state) != names:
            raise ValueError(f"weights {path} hold other tensors than {paths[0]}: {sorted(set(state) ^ names)[:5]}")
    out = {}
    for name in sorted(names):
        values = [s[name] for s in states]
        if any(v.shape != values[0].shape for v in values):
            raise ValueError(f"tensor {name!r} has different shapes: {[v.shape for v in values]}")
        if values[0].dtype.kind == "f":
            out[name] = np.mean(np.stack(values), axis=0).astype(np.float32)
        elif all(np.array_equal(v, values[0]) for v in values):
            out[name] = values[0]
        else:
            raise ValueError(f"integer tensor {name!r} differs between the files; they cannot be averaged")
    return out
