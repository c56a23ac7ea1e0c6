"""One way for every encoder pipeline to pick its runtime: dygraph (default) or Paddle Inference."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, ClassVar, Dict, Optional, Sequence, Tuple, Union

from ..utils.files import atomic_write_text
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


def open_pipeline(name_or_dir: Union[str, os.PathLike], backend: str, inference_options: Dict[str, Any],
                  **tokenizer_options: Any) -> Tuple[Path, Any, Any, Any]:
    """The start-up every encoder pipeline's ``from_pretrained`` shares: ``(directory, tokenizer,
    predictor, config)``. ``name_or_dir`` is a registered name or a path; ``tokenizer_options`` that are
    ``None`` keep the directory's saved settings; ``predictor``/``config`` are ``None`` for dygraph."""
    from ..hub import resolve_model_dir
    from ..tokenization.auto import AutoTokenizer

    directory = resolve_model_dir(name_or_dir)
    tokenizer = AutoTokenizer.from_pretrained(
        directory, **{k: v for k, v in tokenizer_options.items() if v is not None})
    predictor, config = open_backend(directory, backend, inference_options)
    return directory, tokenizer, predictor, config


def require_model(pipeline, action: str) -> None:
    if pipeline.model is None:
        raise ValueError(f"{action}() needs the dygraph model; this pipeline runs an exported inference backend")


def read_settings(directory: Union[str, os.PathLike], filename: str,
                  allowed: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Pipeline settings saved next to a model (``{}`` when the file is absent); ``ValueError`` naming
    the file when it is not a JSON object or holds keys outside ``allowed``."""
    path = Path(directory) / filename
    if not path.is_file():
        return {}
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not a readable JSON file: {exc}") from exc
    if not isinstance(saved, dict) or (allowed is not None and set(saved) - set(allowed)):
        raise ValueError(f"{path} must be a JSON object" + (f" with keys from {tuple(allowed)}" if allowed else "")
                         + f", got {saved!r}")
    return saved


def write_settings(directory: Union[str, os.PathLike], filename: str, settings: Dict[str, Any]) -> Path:
    """Write pipeline settings next to a model (atomic); returns the directory."""
    atomic_write_text(Path(directory) / filename, json.dumps(settings, ensure_ascii=False, indent=2) + "\n")
    return Path(directory)


class SaveExportMixin:
    """``save_pretrained`` (full checkpoint or adapter) and ``export`` (Paddle Inference) for encoder
    pipelines that hold ``model``, ``tokenizer`` and, after ``from_pretrained``, ``base_model``.
    A pipeline with run-time settings that must travel with the model names ``SETTINGS_FILE`` and
    returns them from ``pipeline_settings()``; both writers save them (read back with ``read_settings``)."""

    SETTINGS_FILE: ClassVar[Optional[str]] = None

    def pipeline_settings(self) -> Dict[str, Any]:
        return {}

    def _with_settings(self, directory: Path) -> Path:
        if self.SETTINGS_FILE:
            write_settings(directory, self.SETTINGS_FILE, self.pipeline_settings())
        return Path(directory)

    def save_pretrained(self, directory: Union[str, os.PathLike], dtype: Optional[str] = None) -> Path:
        """A full checkpoint, or only the adapter (over the base model) if fit() used one."""
        from .adapter_support import save_model

        require_model(self, "save_pretrained")
        return self._with_settings(save_model(self.model, self.tokenizer, directory,
                                              getattr(self, "base_model", None), dtype))

    def export(self, directory: Union[str, os.PathLike]) -> Path:
        """Write a static inference model + tokenizer + config (load it with ``backend="inference"``)."""
        require_model(self, "export")
        return self._with_settings(self._export_files(directory))

    def _export_files(self, directory: Union[str, os.PathLike]) -> Path:
        from ..inference import export_model

        return export_model(self.model, directory, self.tokenizer)
