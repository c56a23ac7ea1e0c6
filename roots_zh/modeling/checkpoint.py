"""Read and write weight files (safetensors natively; PaddleNLP ``.pdparams`` read-only)."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional

import numpy as np

from ..utils.files import atomic_save

WEIGHTS_NAME = "model.safetensors"
PADDLE_WEIGHTS_NAME = "model_state.pdparams"
WEIGHT_FILES = (WEIGHTS_NAME, PADDLE_WEIGHTS_NAME)


def find_weights(directory: Path) -> Path:
    for name in WEIGHT_FILES:
        if (Path(directory) / name).is_file():
            return Path(directory) / name
    raise FileNotFoundError(f"no weights in {directory}: expected one of {list(WEIGHT_FILES)}")


def load_weights(path: Path) -> Dict[str, np.ndarray]:
    """``{name: float32 numpy array}`` from a safetensors or pdparams file; clear error if damaged."""
    path = Path(path)
    try:
        if path.suffix == ".safetensors":
            from safetensors.numpy import load_file

            state = load_file(str(path))
        else:
            import paddle

            state = paddle.load(str(path), return_numpy=True)
    except Exception as err:  # safetensors/pickle errors carry no file name
        raise ValueError(f"cannot read weights {path}: {type(err).__name__}: {err} "
                         "(the file is truncated, corrupted or not a weight file)") from err
    if not isinstance(state, dict) or not state:
        raise ValueError(f"weights file {path} holds no tensors")
    return {k: (np.asarray(v, dtype=np.float32) if np.asarray(v).dtype.kind == "f" else np.asarray(v))
            for k, v in state.items()}


def save_weights(state: Dict[str, np.ndarray], path: Path, dtype: Optional[str] = None) -> Path:
    """Write ``state`` as safetensors, atomically; ``dtype="float16"`` halves shipped size."""
    from safetensors.numpy import save_file

    if dtype not in (None, "float32", "float16"):
        raise ValueError(f"`dtype`={dtype!r} is not valid; choose None, 'float32' or 'float16'")
    arrays = {}
    for key, value in state.items():
        value = np.ascontiguousarray(value)
        if dtype and value.dtype.kind == "f":
            value = value.astype(dtype)
        arrays[key] = value
    return atomic_save(path, lambda tmp: save_file(arrays, tmp, metadata={"format": "roots"}))
