"""The backend contract shared by every runtime: ``run(feeds: dict[str, ndarray]) -> list[ndarray]``.

Pipelines call ``backend.run`` on their preprocessed arrays and post-process the raw numpy once,
whatever runs underneath (dygraph, Paddle Inference, ONNX Runtime).
"""
from __future__ import annotations

import threading
import weakref
from typing import Dict, List, Mapping, Optional, Protocol, Sequence

import numpy as np


class Backend(Protocol):
    input_names: Sequence[str]
    output_names: Sequence[str]

    def run(self, feeds: Mapping[str, np.ndarray]) -> List[np.ndarray]:
        ...


def check_feeds(feeds: Mapping[str, np.ndarray], input_names: Sequence[str],
                dtypes: Optional[Mapping[str, str]] = None, ndims: Optional[Mapping[str, int]] = None,
                same_shape: bool = True) -> Dict[str, np.ndarray]:
    """Validate feed names, types, dtypes and ranks; cast each feed to its dtype (default int64).

    Integer inputs take any integer array, float inputs any float array; ``[batch, seq]`` is the
    default rank; all feeds share the batch size and, with ``same_shape``, 2-D feeds agree in shape. Raises ``ValueError``/``TypeError`` naming the
    feed, never a runtime crash deep inside.
    """
    if not isinstance(feeds, Mapping):
        raise TypeError(f"`feeds` must be a dict of name -> numpy array, got {type(feeds).__name__}")
    missing = [n for n in input_names if n not in feeds]
    extra = [n for n in feeds if n not in input_names]
    if missing or extra:
        raise ValueError(f"`feeds` names do not match the model inputs {list(input_names)}: "
                         f"missing {missing}, unexpected {extra}")
    out: Dict[str, np.ndarray] = {}
    shape = None
    for name in input_names:
        value, dtype = feeds[name], (dtypes or {}).get(name, "int64")
        ndim = (ndims or {}).get(name, 2)
        if not isinstance(value, np.ndarray):
            raise TypeError(f"feed `{name}` must be a numpy array, got {type(value).__name__}")
        kind = np.integer if np.issubdtype(np.dtype(dtype), np.integer) else np.floating
        if not np.issubdtype(value.dtype, kind):
            raise TypeError(f"feed `{name}` must hold {'integers' if kind is np.integer else 'floats'} "
                            f"({dtype}), got dtype {value.dtype}")
        if value.ndim != ndim:
            raise ValueError(f"feed `{name}` must be {'[batch, seq_len]' if ndim == 2 else f'{ndim}-D'}, "
                             f"got shape {value.shape}")
        if shape is not None and (value.shape[0] != shape[0] or (same_shape and ndim == 2 and value.shape != shape)):
            raise ValueError(f"feed `{name}` has shape {value.shape} but `{input_names[0]}` has {shape}")
        if shape is None:
            shape = value.shape
        out[name] = np.ascontiguousarray(value, dtype=dtype)
    if shape is not None and 0 in shape:
        raise ValueError(f"feeds are empty (shape {shape}); pass at least one token per row")
    return out


# One lock per dygraph model: eval()/train() toggling and Paddle's dygraph state are not thread-safe,
# so concurrent run() calls on the same model (e.g. from a threaded server) take turns.
_MODEL_LOCKS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def model_lock(model) -> threading.Lock:
    """The lock shared by every backend running ``model``."""
    with _LOCKS_GUARD:
        lock = _MODEL_LOCKS.get(model)
        if lock is None:
            lock = _MODEL_LOCKS[model] = threading.Lock()
        return lock


class DygraphBackend:
    """Run a dygraph ROOTS model behind the same ``run(feeds)`` contract (the default backend).
    ``input_names`` may include ``entity_ids`` (``[batch, seq_len, K]``, for a knowledge-fusion model)."""

    FEED_NDIMS = {"entity_ids": 3}  # feeds that are not [batch, seq_len]

    def __init__(self, model, output_fields: Sequence[str] = ("logits",),
                 input_names: Sequence[str] = ("input_ids", "token_type_ids", "attention_mask")) -> None:
        self.model = model
        self.input_names = tuple(input_names)
        self.output_names = tuple(output_fields)

    def run(self, feeds: Mapping[str, np.ndarray]) -> List[np.ndarray]:
        import paddle

        from ..modeling.runtime import eval_no_grad

        feeds = check_feeds(feeds, self.input_names, ndims=self.FEED_NDIMS)
        with model_lock(self.model):  # thread safety: see _MODEL_LOCKS
            with eval_no_grad(self.model):
                out = self.model(**{k: paddle.to_tensor(v) for k, v in feeds.items()})
            return [getattr(out, f).numpy() for f in self.output_names]
