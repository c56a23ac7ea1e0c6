"""One way for every encoder pipeline to pick its runtime: dygraph (default) or Paddle Inference."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple, Union

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


class SaveExportMixin:
    """``save_pretrained`` (full checkpoint or adapter) and ``export`` (Paddle Inference) for encoder
    pipelines that hold ``model``, ``tokenizer`` and, after ``from_pretrained``, ``base_model``."""

    def save_pretrained(self, directory: Union[str, os.PathLike], dtype: Optional[str] = None) -> Path:
        """A full checkpoint, or only the adapter (over the base model) if fit() used one."""
        from .adapter_support import save_model

        require_model(self, "save_pretrained")
        return save_model(self.model, self.tokenizer, directory, getattr(self, "base_model", None), dtype)

    def export(self, directory: Union[str, os.PathLike]) -> Path:
        """Write a static inference model + tokenizer + config (load it with ``backend="inference"``)."""
        from ..inference import export_model

        require_model(self, "export")
        return export_model(self.model, directory, self.tokenizer)
