"""Benchmark sub-commands for ``tools/benchmark.py``.

Each module here that defines ``register(subparsers)`` is a sub-command: ``register`` adds an
argparse sub-parser and sets ``func=run``; ``run(args)`` writes ``benchmarks/results/<name>.json``
(see :func:`bench.common.write_result`). Modules are discovered automatically, so keep their
module-level imports light (import paddle, tokenizers, ... inside ``run``).

A sub-command's name is its module's ``NAME`` (``tokenizer_speed.py`` is ``tokenize``: no module
here shadows the standard library). Run them with ``python tools/benchmark.py <name>``.
"""
from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType
from typing import List


def command_modules() -> List[ModuleType]:
    """Imported sub-command modules (those defining ``register``), sorted by name."""
    modules = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name == "common":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if callable(getattr(module, "register", None)):
            modules.append(module)
    return modules
