"""ONNX export (paddle2onnx) and INT8 quantization (ONNX Runtime), plus an ONNX Runtime backend.

Optional extra ``roots-zh[onnx]``: paddle2onnx, onnxruntime (and its quantizer's ml_dtypes).
``quantize_onnx`` applies dynamic INT8 quantization: weights of every MatMul/Gemm become int8
offline, activations are quantized per batch at run time (no calibration set needed; accuracy is
checked on task data by ``tools/bench/infer.py``).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import List, Mapping, Tuple, Union

import numpy as np

from ..utils.files import atomic_save
from ..utils.validation import check_positive_int
from .backend import check_feeds
from .export import read_manifest

ONNX_NAME = "model.onnx"
INT8_NAME = "model.int8.onnx"


def export_onnx(model_dir: Union[str, os.PathLike], opset: int = 13) -> Path:
    """Convert an exported directory's Paddle program to ``model.onnx`` beside it."""
    import paddle2onnx

    directory = Path(model_dir)
    manifest = read_manifest(directory)
    target = directory / ONNX_NAME
    def write(tmp: str) -> None:
        paddle2onnx.export(str(directory / manifest["model_file"]), str(directory / manifest["params_file"]),
                           save_file=tmp, opset_version=opset, enable_onnx_checker=True, optimize_tool="None")
        _constants_to_initializers(tmp)

    atomic_save(target, write)
    return target


def _constants_to_initializers(path: str) -> None:
    """paddle2onnx writes weights as ``Constant`` nodes; the quantizer only sees initializers."""
    import onnx

    model = onnx.load(path)
    graph = model.graph
    keep = []
    for node in graph.node:
        if node.op_type == "Constant" and len(node.attribute) == 1 and node.attribute[0].name == "value":
            tensor = onnx.TensorProto()
            tensor.CopyFrom(node.attribute[0].t)
            tensor.name = node.output[0]
            graph.initializer.append(tensor)
        else:
            keep.append(node)
    del graph.node[:]
    graph.node.extend(keep)
    onnx.save(model, path)


def quantize_onnx(onnx_path: Union[str, os.PathLike], out_path: Union[str, os.PathLike, None] = None) -> Path:
    """Dynamic INT8 quantization (int8 weights, per-batch activation scales) of an ONNX model."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    source = Path(onnx_path)
    if not source.is_file():
        raise FileNotFoundError(f"`onnx_path` {source} does not exist")
    target = Path(out_path) if out_path else source.with_name(INT8_NAME)
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / target.name
        quantize_dynamic(str(source), str(staged), weight_type=QuantType.QInt8,
                         op_types_to_quantize=["MatMul", "Gemm"])
        atomic_save(target, lambda t: os.replace(staged, t))
    return target


def int8_onnx_model(model_dir: Union[str, os.PathLike]) -> Path:
    """``model.int8.onnx`` beside an exported directory's Paddle program: converted and quantized once,
    then reused (the ``backend="onnx"`` of every encoder pipeline)."""
    directory = Path(model_dir)
    target = directory / INT8_NAME
    if not target.is_file():
        source = directory / ONNX_NAME
        quantize_onnx(source if source.is_file() else export_onnx(directory), target)
    return target


class OnnxBackend:
    """ONNX Runtime session with the same ``run(feeds) -> list[ndarray]`` contract as ``Predictor``.

    ``InferenceSession.run`` is thread-safe, so one session serves every thread.
    """

    runtime = "onnx"

    def __init__(self, onnx_path: Union[str, os.PathLike], threads: int = 2) -> None:
        import onnxruntime as ort

        check_positive_int(threads, "threads")
        path = Path(onnx_path)
        if not path.is_file():
            raise FileNotFoundError(f"`onnx_path` {path} does not exist")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_names: Tuple[str, ...] = tuple(i.name for i in self.session.get_inputs())
        self.output_names: Tuple[str, ...] = tuple(o.name for o in self.session.get_outputs())

    def run(self, feeds: Mapping[str, np.ndarray]) -> List[np.ndarray]:
        return list(self.session.run(None, check_feeds(feeds, self.input_names)))
