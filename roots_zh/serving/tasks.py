"""Pluggable task -> handler factories for the server.

A factory takes ``(model, **options)`` and returns a handler ``items -> results`` (one JSON-able
result per item, same order). Every text-input Taskflow task is registered; register more with
:func:`register_task`. The default backend is Paddle Inference (the export Taskflow caches under
``$ROOTS_HOME/inference``); a task that has no inference path falls back to dygraph with a logged reason.
"""
from __future__ import annotations

import inspect
import logging
from typing import Any, Callable, Dict, List

from ..utils.env import BACKENDS  # noqa: F401 - re-exported (serving.tasks.BACKENDS)
from .batching import Handler

logger = logging.getLogger(__name__)

TaskFactory = Callable[..., Handler]
TASKS: Dict[str, TaskFactory] = {}


def register_task(name: str, factory: TaskFactory) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError(f"`name` must be a non-empty str, got {name!r}")
    if not callable(factory):
        raise TypeError(f"`factory` must be callable, got {type(factory).__name__}")
    TASKS[name] = factory


def build_handler(task: str, model: str | None, **options: Any) -> Handler:
    if task not in TASKS:
        raise ValueError(f"`task`={task!r} is not valid; choose one of {sorted(TASKS)}")
    return TASKS[task](model, **options)


def _pipeline_options(task: str, backend: str, max_length: int, threads: int,
                      precision: str = "fp32") -> Dict[str, Any]:
    """The options the task's ``from_pretrained`` takes: ``max_length``, and ``threads`` for exported
    runtimes (``precision`` too for Paddle Inference)."""
    from ..taskflow import TASKS as FLOW_TASKS, _load_class

    params = inspect.signature(_load_class(FLOW_TASKS[task].pipeline).from_pretrained).parameters
    open_kwargs = any(p.kind is p.VAR_KEYWORD for p in params.values())
    options: Dict[str, Any] = {}
    if "max_length" in params:
        options["max_length"] = max_length
    if "threads" in params or (backend != "dygraph" and open_kwargs):
        options["threads"] = threads
    if backend == "inference" and ("precision" in params or open_kwargs):
        options["precision"] = precision
    return options


def _predictor_precision(pipeline: Any) -> str | None:
    """The precision the pipeline's Paddle Inference predictor runs (``None`` if none is found)."""
    holders = [pipeline, getattr(pipeline, "tagger", None), getattr(pipeline, "static_decoder", None)]
    for holder in holders:
        for name in ("backend", "prefill"):
            precision = getattr(getattr(holder, name, None), "precision", None)
            if isinstance(precision, str):
                return precision
    return None


def taskflow_factory(task: str) -> TaskFactory:
    """A server handler for a text-input Taskflow task (its shipped model unless ``model`` is given)."""

    def factory(model: str | None = None, backend: str = "inference", max_length: int = 128,
                threads: int = 2, precision: str = "auto") -> Handler:
        from ..taskflow import Taskflow
        from ..utils.env import set_cpu_threads
        from ..utils.validation import check_choice, check_positive_int

        check_choice(backend, "backend", BACKENDS)
        check_positive_int(max_length, "max_length")
        check_positive_int(threads, "threads")
        set_cpu_threads(threads)
        flow = None
        if backend != "dygraph":
            try:
                flow = Taskflow(task, model=model, backend=backend,
                                **_pipeline_options(task, backend, max_length, threads, precision))
            except Exception as exc:  # noqa: BLE001 - no exported path for this task (or runtime): say why
                logger.warning("%s: backend %r is not available (%s: %s); serving with dygraph", task, backend,
                               type(exc).__name__, exc)
                backend = "dygraph"
        if flow is None:
            flow = Taskflow(task, model=model, backend="dygraph",
                            **_pipeline_options(task, "dygraph", max_length, threads))

        def handle(texts: List[str]) -> List[dict]:
            flow.batch_size = max(1, len(texts))  # the server already batched them: one model call
            return flow(list(texts))

        handle.info = {"task": task, "model": str(flow.model), "backend": backend}
        if backend == "inference":
            handle.info["precision"] = _predictor_precision(flow.pipeline)
        return handle

    return factory


def _register_taskflow_tasks() -> None:
    from ..taskflow import TASKS as FLOW_TASKS

    for name, spec in FLOW_TASKS.items():
        if spec.input_kind == "text" and name not in TASKS:
            register_task(name, taskflow_factory(name))


_register_taskflow_tasks()
