"""`Taskflow`: one-line Chinese NLP tasks on the shipped models, like PaddleNLP's.

    >>> from roots_zh import Taskflow
    >>> Taskflow("sentiment_analysis")(["菜很好吃", "太难吃了"])
    [{'text': '菜很好吃', 'label': '正面', 'score': 0.93}, {'text': '太难吃了', 'label': '负面', 'score': 0.88}]

Taskflow is a registry lookup plus delegation: each task names a pipeline class, its default
shipped model and a usage string; the pipeline does the work. Nothing is ever downloaded.
"""
from __future__ import annotations

import importlib
import inspect
import os
from typing import Any, List, Optional, Union

from .hub.tasks import TASKS, TaskSpec  # noqa: F401 - the one task registry (Taskflow, serving, export)
from .utils.env import BACKENDS  # noqa: F401 - re-exported (taskflow.BACKENDS)
from .utils.validation import check_choice, check_positive_int


DEVICES = ("cpu", "gpu")


def _load_class(path: str):
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


class Taskflow:
    """``Taskflow(task, model=None, batch_size=32, device="cpu", backend=None, **pipeline_kwargs)``.

    ``model``: a registered name or a fine-tuned directory (default: the task's shipped model).
    ``backend``: ``"dygraph"``, ``"inference"`` (an export made once, cached under
    ``$ROOTS_HOME/inference``) or ``"onnx"`` (ONNX Runtime on a dynamic-INT8 copy of that export; not for
    generation tasks; ``roots-zh[onnx]``); ``None`` is the pipeline's default: Paddle Inference for
    ``word_segmentation`` in its neural modes (``mode="accurate"`` / ``"fast"``), dygraph for every other task.
    Call it with a str (returns a dict) or a list (returns a list of dicts). ``Taskflow.tasks()``
    lists the tasks, ``.help()`` prints the usage.
    """

    def __init__(self, task: str, model: Union[str, os.PathLike, None] = None, batch_size: int = 32,
                 device: str = "cpu", backend: Optional[str] = None, **pipeline_kwargs: Any) -> None:
        self.task = check_choice(task, "task", sorted(TASKS))
        self.spec = TASKS[task]
        self.batch_size = check_positive_int(batch_size, "batch_size")
        self.device = check_choice(device, "device", DEVICES)
        if backend is not None:
            check_choice(backend, "backend", BACKENDS)
        if self.device == "gpu":
            import paddle

            if not paddle.device.is_compiled_with_cuda():
                raise ValueError("`device`='gpu' but this Paddle build has no CUDA; install paddlepaddle-gpu "
                                 "or use device='cpu'")
            paddle.device.set_device("gpu")
        mode_model = (self.spec.mode_models or {}).get(pipeline_kwargs.get("mode"))
        self.model = model if model is not None else mode_model or self.spec.default_model
        cls = _load_class(self.spec.pipeline)
        source = self.model
        accepts = inspect.signature(cls.from_pretrained).parameters
        if backend not in (None, "dygraph"):  # every exported runtime runs the cached export
            if "backend" not in accepts:
                raise ValueError(f"`backend`={backend!r} is not available for {task} yet; use backend='dygraph'")
            if self.model is None:
                raise ValueError(f"`backend`={backend!r} needs a model, and {task} runs jieba by default; "
                                 "pass mode='accurate' or 'fast' (the neural models) or use backend='dygraph'")
            from .pipelines.base import cached_export

            check_choice(backend, "backend", getattr(cls, "BACKENDS", BACKENDS))
            source = str(cached_export(cls, self.model))
            pipeline_kwargs["backend"] = backend
        elif backend is not None and "backend" in accepts:
            pipeline_kwargs["backend"] = backend  # otherwise the pipeline's own default
        if "normalize" in accepts and "normalize" not in pipeline_kwargs and self._stored_normalize(source) is None:
            pipeline_kwargs["normalize"] = "auto"  # traditional script in, offsets into the original out
        self.pipeline = cls.from_pretrained(source, **pipeline_kwargs)
        self.backend = backend or getattr(self.pipeline, "runtime", None) or "dygraph"  # jieba: no model

    @staticmethod
    def _stored_normalize(model) -> Any:
        """The ``normalize`` option saved with ``model``'s tokenizer (None: none saved, or no model)."""
        from .hub import resolve_model_dir
        from .tokenization.base import read_tokenizer_config

        if model is None:
            return None
        try:
            return read_tokenizer_config(resolve_model_dir(model)).get("normalize")
        except (FileNotFoundError, ValueError):
            return None

    @staticmethod
    def tasks() -> List[str]:
        return sorted(TASKS)

    def help(self) -> str:
        text = f"{self.task}: {self.spec.usage}"
        print(text)
        return text

    def __call__(self, inputs: Any, **predict_kwargs: Any):
        if self.spec.input_kind == "qa":
            return self._question_answering(inputs, **predict_kwargs)
        if self.spec.input_kind == "pair":
            return self._pairs(inputs, **predict_kwargs)
        return self.pipeline.predict(inputs, batch_size=self.batch_size, **predict_kwargs)

    def _pairs(self, inputs: Any, **kw: Any):
        single = isinstance(inputs, (list, tuple)) and len(inputs) == 2 and all(isinstance(x, str) for x in inputs)
        rows = [inputs] if single else inputs
        if not isinstance(rows, (list, tuple)) or not all(
                isinstance(r, (list, tuple)) and len(r) == 2 for r in rows):
            raise ValueError("`inputs` for text_similarity must be a [text, text] pair or a list of pairs")
        out = self.pipeline.predict([r[0] for r in rows], [r[1] for r in rows], batch_size=self.batch_size, **kw)
        return out[0] if single else out

    def _question_answering(self, inputs: Any, **kw: Any):
        single = isinstance(inputs, dict)
        rows = [inputs] if single else inputs
        if not isinstance(rows, (list, tuple)):
            raise TypeError("`inputs` for question_answering must be a {'question', 'context'} dict or a list "
                            f"of them, got {type(inputs).__name__}")
        for i, row in enumerate(rows):
            if not isinstance(row, dict) or "question" not in row or "context" not in row:
                raise ValueError(f"`inputs[{i}]` must be a dict with 'question' and 'context'")
        out = self.pipeline.predict([r["question"] for r in rows], [r["context"] for r in rows],
                                    batch_size=self.batch_size, **kw)
        return out[0] if single else out

    def __repr__(self) -> str:
        return f"Taskflow(task={self.task!r}, model={self.model!r}, backend={self.backend!r})"
