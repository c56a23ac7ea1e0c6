"""Pluggable task -> handler factories for the server.

A factory takes ``(model, **options)`` and returns a handler ``items -> results`` (one JSON-able
result per item, same order). Register more (e.g. Taskflow tasks) with :func:`register_task`.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List

from .batching import Handler

TaskFactory = Callable[..., Handler]
TASKS: Dict[str, TaskFactory] = {}


def register_task(name: str, factory: TaskFactory) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError(f"`name` must be a non-empty str, got {name!r}")
    if not callable(factory):
        raise TypeError(f"`factory` must be callable, got {type(factory).__name__}")
    TASKS[name] = factory


def build_handler(task: str, model: str, **options: Any) -> Handler:
    if task not in TASKS:
        raise ValueError(f"`task`={task!r} is not valid; choose one of {sorted(TASKS)}")
    return TASKS[task](model, **options)


def text_classification(model: str | None = None, backend: str = "dygraph", max_length: int = 128,
                        threads: int = 2) -> Handler:
    """``model``: a registered name or a directory (with ``backend="inference"``: an exported one)."""
    from ..pipelines.text_classification import TextClassifier
    from ..utils.env import set_cpu_threads

    if model is None:
        from ..taskflow import TASKS as FLOW_TASKS

        model = FLOW_TASKS["text_classification"].default_model
    if backend == "inference":
        clf = TextClassifier.from_pretrained(model, backend="inference", max_length=max_length, threads=threads)
    else:
        set_cpu_threads(threads)
        clf = TextClassifier.from_pretrained(model, max_length=max_length)

    def handle(texts: List[str]) -> List[dict]:
        return clf.predict(list(texts), batch_size=max(1, len(texts)))

    return handle


register_task("text_classification", text_classification)


def taskflow_factory(task: str) -> TaskFactory:
    """A server handler for a text-input Taskflow task (its shipped model unless ``model`` is given)."""

    def factory(model: str | None = None, backend: str = "dygraph", max_length: int = 128,
                threads: int = 2) -> Handler:
        from ..taskflow import Taskflow
        from ..utils.env import set_cpu_threads

        set_cpu_threads(threads)
        flow = Taskflow(task, model=model, backend=backend)

        def handle(texts: List[str]) -> List[dict]:
            return flow(list(texts))

        return handle

    return factory


def _register_taskflow_tasks() -> None:
    from ..taskflow import TASKS as FLOW_TASKS

    for name, spec in FLOW_TASKS.items():
        if spec.input_kind == "text" and name not in TASKS:
            register_task(name, taskflow_factory(name))


_register_taskflow_tasks()
