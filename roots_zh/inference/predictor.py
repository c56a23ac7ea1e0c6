"""`Predictor`: Paddle Inference behind one ``device=``/``precision=`` choice, with a predictor pool.

CPU: oneDNN, math threads, IR optimisation; ``precision="bf16"`` runs oneDNN's bfloat16 kernels on a CPU
that has them (AVX512-BF16 or AMX: measured here on an AMD EPYC, roots-sentiment at 32 x 128 tokens,
188 -> 108 ms per batch, logits equal to 2-3 decimals); ``"auto"`` is bf16 where the CPU has it, else
fp32. GPU: ``enable_use_gpu`` with a memory pool, fp16 via
mixed precision. TensorRT: ``enable_tensorrt_engine`` with dynamic shapes, fp16 or int8
(calibrated by TensorRT). GPU/TensorRT are configured but cannot be exercised on the CPU wheel.

Paddle predictors are not thread-safe, and with oneDNN a predictor must also stay on the OS thread
that made it: handing predictors between threads (a queue-based pool) failed with
``RuntimeError: std::exception`` in 9 of 30 rounds of 8 threads x 48 runs, even with one
independently created predictor per slot. ``Predictor`` therefore owns ``pool_size`` worker threads,
each holding its own ``clone()`` (weights shared) made in that thread, and ``run`` hands the work to
a free worker, so any number of caller threads can call ``run`` at once (0 failures in the same
stress test; ``tests/inference/test_inference.py``).
"""
from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import List, Mapping, Tuple, Union

import numpy as np

from ..utils.cpu_blas import enable_fast_path
from ..utils.validation import check_choice, check_positive_int
from .backend import check_feeds
from .export import read_manifest

logger = logging.getLogger(__name__)

DEVICES = ("cpu", "gpu", "tensorrt")
PRECISIONS = {"cpu": ("fp32", "bf16", "auto"), "gpu": ("fp32", "fp16"), "tensorrt": ("fp32", "fp16", "int8")}


class Predictor:
    """Run an exported directory (see :func:`roots_zh.inference.export_model`) with Paddle Inference.

    >>> p = Predictor("work_dirs/csc_export", device="cpu", threads=2, pool_size=4)
    >>> logits, = p.run({"input_ids": ids, "token_type_ids": tt, "attention_mask": mask})
    """

    runtime = "inference"

    def __init__(self, model_dir: Union[str, os.PathLike], device: str = "cpu", precision: str = "fp32",
                 threads: int = 2, pool_size: int = 1, ir_optim: bool = True, gpu_id: int = 0,
                 gpu_memory_mb: int = 512, trt_max_batch: int = 32, trt_max_seq_len: int = 512,
                 trt_workspace_mb: int = 1024) -> None:
        check_choice(device, "device", DEVICES)
        check_choice(precision, "precision", PRECISIONS[device])
        if device == "cpu":
            precision = resolve_cpu_precision(precision)
        check_positive_int(threads, "threads")
        enable_fast_path()  # MKL's fast kernels on AMD CPUs, before the first run
        check_positive_int(pool_size, "pool_size")
        self.model_dir = Path(model_dir)
        self.manifest = read_manifest(self.model_dir)
        self.device, self.precision, self.threads = device, precision, threads
        self._gpu = (gpu_id, gpu_memory_mb)
        self._trt = (trt_max_batch, trt_max_seq_len, trt_workspace_mb)
        self.input_names: Tuple[str, ...] = tuple(i["name"] for i in self.manifest["inputs"])
        self._dtypes = {i["name"]: i.get("dtype", "int64") for i in self.manifest["inputs"]}
        self._ndims = {i["name"]: len(i.get("shape", [-1, -1])) for i in self.manifest["inputs"]}
        self.output_names: Tuple[str, ...] = tuple(self.manifest["outputs"])
        self.pool_size = pool_size
        # made here so that a bad directory or setting fails in the caller; workers run clones of it
        self._template = self._create(ir_optim)
        self._bound = threading.local()
        # the workers hold the template and the thread-local store, never ``self``: once the
        # Predictor is garbage, its executor is too, and the idle workers exit
        self._workers = ThreadPoolExecutor(pool_size, thread_name_prefix="roots-predictor",
                                           initializer=_bind_clone, initargs=(self._template, self._bound))

    # ------------------------------------------------------------------ config
    def _config(self, ir_optim: bool):
        from paddle import inference

        d = self.model_dir
        config = inference.Config(str(d / self.manifest["model_file"]), str(d / self.manifest["params_file"]))
        config.switch_ir_optim(ir_optim)
        config.disable_glog_info()
        if self.device == "cpu":
            config.disable_gpu()
            config.enable_mkldnn()
            config.set_cpu_math_library_num_threads(self.threads)
            if self.precision == "bf16":
                config.enable_mkldnn_bfloat16()
            # no enable_memory_optim(): it makes predictor creation fail for PIR (.json) models in 3.3
            return config
        gpu_id, memory_mb = self._gpu
        config.enable_use_gpu(memory_mb, gpu_id)
        if self.device == "gpu":
            if self.precision == "fp16":
                config.enable_use_gpu(memory_mb, gpu_id, inference.PrecisionType.Half)
            return config
        self._config_tensorrt(config, inference)
        return config

    def _config_tensorrt(self, config, inference) -> None:
        max_batch, max_seq, workspace_mb = self._trt
        precision = {"fp32": inference.PrecisionType.Float32, "fp16": inference.PrecisionType.Half,
                     "int8": inference.PrecisionType.Int8}[self.precision]
        config.enable_tensorrt_engine(workspace_size=workspace_mb << 20, max_batch_size=max_batch,
                                      min_subgraph_size=3, precision_mode=precision, use_static=False,
                                      use_calib_mode=self.precision == "int8")
        # dynamic axes (-1 in the manifest): axis 0 is the batch, any other the sequence/past length
        def bounds(batch: int, seq: int):
            return {i["name"]: [d if d > 0 else (batch if axis == 0 else seq) for axis, d in enumerate(i["shape"])]
                    for i in self.manifest["inputs"]}

        config.set_trt_dynamic_shape_info(bounds(1, 1), bounds(max_batch, max_seq),
                                          bounds(max(1, max_batch // 2), min(128, max_seq)))

    def _create(self, ir_optim: bool):
        from paddle import inference

        try:
            return inference.create_predictor(self._config(ir_optim))
        except Exception as exc:  # noqa: BLE001 - re-raised with the directory and settings named
            raise RuntimeError(f"could not create a Paddle Inference predictor for {self.model_dir} "
                               f"(device={self.device}, precision={self.precision}): {exc}") from exc

    # ------------------------------------------------------------------ run
    def run(self, feeds: Mapping[str, np.ndarray]) -> List[np.ndarray]:
        """Feed named int arrays ``[batch, seq]``; returns the outputs (``manifest['outputs']`` order)."""
        feeds = check_feeds(feeds, self.input_names, self._dtypes, self._ndims,
                            same_shape=self.manifest.get("same_shape", True))
        if self._workers is None:
            raise ValueError("predictor: this Predictor was closed; create a new one")
        return self._workers.submit(_run_bound, self._bound, self.input_names, feeds).result()

    def close(self) -> None:
        """Stop the worker threads (also done when the Predictor is garbage-collected)."""
        if self._workers is not None:
            self._workers.shutdown(wait=True)
            self._workers = None

    def __enter__(self) -> "Predictor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"Predictor({str(self.model_dir)!r}, device={self.device!r}, precision={self.precision!r}, "
                f"threads={self.threads}, pool_size={self.pool_size})")


def cpu_has_bf16() -> bool:
    """Whether this CPU has native bfloat16 math (oneDNN's check, as Paddle reports it)."""
    from paddle.base import core

    return bool(core.supports_bfloat16())


def resolve_cpu_precision(precision: str) -> str:
    """``"auto"`` -> ``"bf16"`` where the CPU has native bfloat16, else ``"fp32"``; ``"bf16"`` on a CPU
    without it raises (oneDNN would emulate it, slower than fp32)."""
    if precision == "auto":
        return "bf16" if cpu_has_bf16() else "fp32"
    if precision == "bf16" and not cpu_has_bf16():
        raise ValueError("`precision`='bf16' needs a CPU with AVX512-BF16 or AMX; this one has neither "
                         "(use 'fp32' or 'auto')")
    return precision


def _bind_clone(template, bound: threading.local) -> None:
    """Worker-thread initializer: the thread's own predictor, cloned (weights shared) in this thread."""
    bound.predictor = template.clone()


def _run_bound(bound: threading.local, input_names: Tuple[str, ...],
               feeds: Mapping[str, np.ndarray]) -> List[np.ndarray]:
    predictor = bound.predictor
    for name in input_names:
        predictor.get_input_handle(name).copy_from_cpu(feeds[name])
    predictor.run()
    return [predictor.get_output_handle(n).copy_to_cpu() for n in predictor.get_output_names()]
