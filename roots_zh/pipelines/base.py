"""`Pipeline`: the base of every model-holding pipeline (TextClassifier, TokenClassifier,
QuestionAnswerer, FillMask, Seq2SeqPipeline): one start-up (``Pipeline.open_pipeline``: model
directory, tokenizer and runtime), settings that travel with the model (``SETTINGS_FILE``),
``save_pretrained`` (full checkpoint or adapter) and ``export`` (Paddle Inference).

The runtime is dygraph (default), Paddle Inference or ONNX Runtime INT8 (``BACKENDS``); each runs behind
the backend contract ``run(feeds) -> [arrays]`` (``roots_zh.inference.backend``).
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, ClassVar, Dict, List, Optional, Sequence, Tuple, Union

from ..utils.env import BACKENDS
from ..utils.files import atomic_write_text
from ..utils.validation import check_choice

logger = logging.getLogger(__name__)


def dygraph_backend(model, output_fields: Sequence[str]):
    from ..inference.backend import DygraphBackend

    return DygraphBackend(model, output_fields)


def open_backend(directory: Union[str, os.PathLike], backend: str, options: Dict[str, Any]) -> Tuple[Any, Any]:
    """``(predictor, config)`` for ``backend="inference"`` / ``"onnx"`` (an exported directory; ONNX
    Runtime runs its dynamic-INT8 copy, made once beside it), else ``(None, None)``."""
    check_choice(backend, "backend", BACKENDS)
    if backend == "dygraph":
        if options:
            raise ValueError(f"{sorted(options)} apply only to backend='inference' or 'onnx'")
        return None, None
    from ..modeling import RootsConfig

    if backend == "onnx":
        from ..inference.onnx import OnnxBackend, int8_onnx_model

        unknown = set(options) - {"threads"}
        if unknown:
            raise ValueError(f"{sorted(unknown)} do not apply to backend='onnx' (it takes `threads`)")
        return OnnxBackend(int8_onnx_model(directory), **options), RootsConfig.from_pretrained(directory)
    from ..inference import Predictor

    return Predictor(directory, **options), RootsConfig.from_pretrained(directory)


def cached_export(pipeline_cls, name_or_dir: Union[str, os.PathLike]) -> Path:
    """An exported (Paddle Inference) copy of ``name_or_dir``, made once by ``pipeline_cls``
    (``from_pretrained(..., backend="dygraph").export``) and cached under
    ``$ROOTS_HOME/inference/<name>-<sha of the model files>`` (like PaddleNLP's Taskflow static-model
    cache); a directory that already is an export is returned as it is."""
    import hashlib

    from ..hub import resolve_model_dir
    from ..hub.registry import read_checksums
    from ..utils.env import roots_home
    from ..utils.files import sha256_file

    directory = resolve_model_dir(name_or_dir)
    exported = lambda d: (d / "inference.json").is_file() or (d / "decoder.json").is_file()  # noqa: E731
    if exported(directory):  # already an export
        return directory
    sums = read_checksums(directory) or {p.name: sha256_file(p) for p in sorted(directory.iterdir())
                                         if p.is_file()}
    digest = hashlib.sha256(json.dumps(sums, sort_keys=True).encode("utf-8")).hexdigest()[:12]
    target = roots_home() / "inference" / f"{directory.name}-{digest}"
    if not exported(target):
        pipeline_cls.from_pretrained(directory, backend="dygraph").export(target)
    return target


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


class Pipeline:
    """Base of the pipelines that hold a model: ``model`` (dygraph; ``None`` on an exported runtime),
    ``tokenizer``, ``config``, ``backend`` and ``base_model`` (the registered name or directory the
    pipeline was loaded from: what an adapter trained on it builds on; ``None`` when built by hand).

    Subclasses start in ``from_pretrained`` through :meth:`open_pipeline`. ``OUTPUT_FIELDS`` names the
    model outputs the default dygraph backend returns (``None``: the subclass runs the model itself).
    A pipeline with run-time settings that must travel with the model names ``SETTINGS_FILE`` and
    returns them from :meth:`pipeline_settings`; ``save_pretrained`` and ``export`` write them and
    :meth:`saved_settings` reads them back."""

    SETTINGS_FILE: ClassVar[Optional[str]] = None
    OUTPUT_FIELDS: ClassVar[Optional[Tuple[str, ...]]] = None
    BACKENDS: ClassVar[Tuple[str, ...]] = BACKENDS  # the runtimes ``from_pretrained`` can open

    def __init__(self, model, tokenizer, config=None, backend=None, base_model: Optional[str] = None) -> None:
        """``model`` runs in dygraph; without one, pass an exported runtime ``backend`` (an object with
        ``run(feeds) -> [arrays]``, e.g. an inference ``Predictor``) together with its ``config``."""
        if model is None and (backend is None or config is None):
            raise ValueError("pass a `model`, or a `backend` together with its `config`")
        self.model, self.tokenizer, self.base_model = model, tokenizer, base_model
        self.config = config if config is not None else model.config
        if backend is None and self.OUTPUT_FIELDS:
            backend = dygraph_backend(model, self.OUTPUT_FIELDS)
        self.backend = backend

    @property
    def runtime(self) -> str:
        """``"dygraph"``, or the exported runtime's name (``"inference"``, ``"onnx"``; no dygraph model)."""
        return "dygraph" if self.model is not None else getattr(self.backend, "runtime", "inference")

    def replace_model(self, model) -> None:
        """Swap the dygraph model (e.g. for re-initialised weights); the default backend follows it."""
        self.model, self.config = model, model.config
        if self.OUTPUT_FIELDS:
            self.backend = dygraph_backend(model, self.OUTPUT_FIELDS)

    # ------------------------------------------------------------------ start-up
    @classmethod
    def open_pipeline(cls, name_or_dir: Union[str, os.PathLike], backend: str, inference_options: Dict[str, Any],
                      **tokenizer_options: Any) -> Tuple[Path, Any, Any, Any]:
        """The start-up every pipeline's ``from_pretrained`` shares: ``(directory, tokenizer, predictor,
        config)``. ``name_or_dir`` is a registered name or a path; ``tokenizer_options`` that are ``None``
        keep the directory's saved settings; ``predictor``/``config`` are ``None`` for dygraph. An exported
        backend on a checkpoint (not an export) runs its cached export (:func:`cached_export`)."""
        from ..hub import resolve_model_dir
        from ..inference.export import MANIFEST_NAME
        from ..tokenization.auto import AutoTokenizer

        directory = resolve_model_dir(name_or_dir)
        if backend != "dygraph" and not (directory / MANIFEST_NAME).is_file() and (directory / "config.json").is_file():
            directory = cached_export(cls, directory)
        tokenizer = AutoTokenizer.from_pretrained(
            directory, **{k: v for k, v in tokenizer_options.items() if v is not None})
        predictor, config = open_backend(directory, backend, inference_options)
        return directory, tokenizer, predictor, config

    def encode_texts(self, texts: List[str], text_pairs: Optional[List[str]] = None) -> List[Dict[str, List[int]]]:
        """Encoder features of ``texts`` (and ``text_pairs``): ids, token types and attention masks, cut at
        ``self.max_length`` tokens (logged as a warning)."""
        enc = self.tokenizer(texts, text_pairs, max_length=self.max_length, truncation=True)
        n_long = sum(len(ids) >= self.max_length for ids in enc["input_ids"])
        if n_long:
            logger.warning("%d of %d inputs truncated to max_length=%d tokens", n_long, len(texts), self.max_length)
        return [{"input_ids": enc["input_ids"][i], "token_type_ids": enc["token_type_ids"][i],
                 "attention_mask": enc["attention_mask"][i]} for i in range(len(texts))]

    def require_model(self, action: str) -> None:
        """``ValueError`` when ``action`` needs the dygraph model and this pipeline runs an export."""
        if self.model is None:
            raise ValueError(f"{action}() needs the dygraph model; this pipeline runs an exported inference backend")

    # ------------------------------------------------------------------ settings
    def pipeline_settings(self) -> Dict[str, Any]:
        return {}

    @classmethod
    def saved_settings(cls, directory: Union[str, os.PathLike],
                       allowed: Optional[Sequence[str]] = None) -> Dict[str, Any]:
        """The ``SETTINGS_FILE`` saved next to a model (``{}`` when absent or when the class has none)."""
        return read_settings(directory, cls.SETTINGS_FILE, allowed) if cls.SETTINGS_FILE else {}

    def _with_settings(self, directory: Union[str, os.PathLike]) -> Path:
        if self.SETTINGS_FILE:
            write_settings(directory, self.SETTINGS_FILE, self.pipeline_settings())
        return Path(directory)

    # ------------------------------------------------------------------ save / export
    def save_pretrained(self, directory: Union[str, os.PathLike], dtype: Optional[str] = None) -> Path:
        """A full checkpoint, or only the adapter (over the base model) if fit() used one."""
        from .adapter_support import save_model

        self.require_model("save_pretrained")
        return self._with_settings(save_model(self.model, self.tokenizer, directory, self.base_model, dtype))

    def export(self, directory: Union[str, os.PathLike]) -> Path:
        """Write a static inference model + tokenizer + config (load it with ``backend="inference"``)."""
        self.require_model("export")
        return self._with_settings(self._export_files(directory))

    def _export_files(self, directory: Union[str, os.PathLike]) -> Path:
        from ..inference import export_model

        return export_model(self.model, directory, self.tokenizer)

