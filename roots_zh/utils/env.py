"""Environment: the ROOTS cache directory, CPU thread settings and the runtimes a model runs on."""
from __future__ import annotations

import os
from pathlib import Path

# The runtimes of every pipeline, Taskflow, the CLI and the server (one tuple, imported everywhere):
# dygraph (the paddle model in Python), Paddle Inference (an exported directory) or ONNX Runtime with
# dynamic INT8 weights (made from an exported directory; encoder pipelines only, ``roots-zh[onnx]``).
BACKENDS = ("dygraph", "inference", "onnx")
GENERATION_BACKENDS = ("dygraph", "inference")  # the decoders of the seq2seq pipelines


def roots_home() -> Path:
    """Cache dir for models: ``$ROOTS_HOME`` or ``~/.roots``."""
    return Path(os.environ.get("ROOTS_HOME", Path.home() / ".roots")).expanduser()


def shared_data_root() -> Path:
    """The data sets: ``$ROOTS_DATA_DIR`` or ``../shared/data`` beside the repository checkout."""
    env = os.environ.get("ROOTS_DATA_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "shared" / "data"


def available_cores() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else (os.cpu_count() or 1)


def set_cpu_threads(num_threads: int | None = None) -> int:
    """Give Paddle's dygraph math more than its default single thread (1.4x training here)."""
    import paddle  # local: keep `import roots_zh` cheap

    from .cpu_blas import enable_fast_path

    enable_fast_path()  # before Paddle's thread call, which loads MKL (too late for the shim after it)
    # not OMP_NUM_THREADS: paddle sets it to 1 on import
    n = int(num_threads or os.environ.get("ROOTS_NUM_THREADS") or available_cores())
    paddle.base.core.set_num_threads(n)
    return n
