"""One way for every encoder pipeline to pick its runtime: dygraph (default) or Paddle Inference."""
from __future__ import annotations

import os
from typing import Any, Dict, Sequence, Tuple, Union

from ..utils.validation import check_choice

BACKENDS = ("dygraph", "inference")


def dygraph_backend(model, output_fields: Sequence[str]):
    from ..inference.backend import DygraphBackend

    return DygraphBackend(model, output_fields)


def open_backend(directory: Union[str, os.PathLike], backend: str, options: Dict[str, Any]) -> Tuple[Any, Any]:
    """``(predictor, config)`` for ``backend="inference"`` (an exported directory), else ``(None, None)``."""
    check_choice(backend, "backend", BACKENDS)
    if backend == "dygraph":
        if options:
            raise ValueError(f"{sorted(options)} apply only to backend='inference'")
        return None, None
    from ..inference import Predictor
    from ..modeling import RootsConfig

    return Predictor(directory, **options), RootsConfig.from_pretrained(directory)


def require_model(pipeline, action: str) -> None:
    if pipeline.model is None:
        raise ValueError(f"{action}() needs the dygraph model; this pipeline runs an exported inference backend")
