"""Deployment: static export (``export_model``), Paddle Inference (``Predictor``), ONNX Runtime INT8.

Every runtime is a backend with ``run(feeds: dict[str, ndarray]) -> list[ndarray]``; paddle,
paddle2onnx and onnxruntime are imported only when used.
"""
from .backend import Backend, DygraphBackend, check_feeds
from .decoder import export_decoder
from .export import MANIFEST_NAME, export_model, read_manifest
from .onnx import OnnxBackend, export_onnx, int8_onnx_model, quantize_onnx
from .predictor import Predictor

__all__ = ["Backend", "DygraphBackend", "check_feeds", "MANIFEST_NAME", "export_model", "read_manifest",
           "OnnxBackend", "export_onnx", "int8_onnx_model", "quantize_onnx", "Predictor", "export_decoder"]
