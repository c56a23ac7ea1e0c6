#!/usr/bin/env python
"""Export a ROOTS model directory for deployment (Paddle Inference, optionally ONNX + INT8).

    python tools/export.py --model work_dirs/infer/csc_ft/final --out work_dirs/infer/csc_export
    python tools/export.py --model roots-base --head token --labels O B-PER I-PER --out ... --onnx --int8

The output directory runs without training code: ``TextClassifier.from_pretrained(out, backend="inference")``,
``roots_zh.inference.Predictor(out)`` or ``python -m roots_zh.serving --backend inference --model out``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from roots_zh.utils.logs import log_to_stderr

ROOT = Path(__file__).resolve().parents[1]

HEADS = {"sequence": "RootsForSequenceClassification", "token": "RootsForTokenClassification",
         "qa": "RootsForQuestionAnswering", "encoder": "RootsModel"}


def main(argv=None) -> int:
    log_to_stderr()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="registered name or model directory")
    p.add_argument("--out", required=True)
    p.add_argument("--head", choices=sorted(HEADS), default="sequence")
    p.add_argument("--labels", nargs="*", help="label names for a new (untrained) head")
    p.add_argument("--onnx", action="store_true", help="also write model.onnx (paddle2onnx)")
    p.add_argument("--int8", action="store_true", help="also write model.int8.onnx (ONNX Runtime dynamic INT8)")
    ns = p.parse_args(argv)

    from roots_zh import modeling
    from roots_zh.hub import resolve_model_dir
    from roots_zh.inference import export_model, export_onnx, quantize_onnx
    from roots_zh.tokenization.auto import AutoTokenizer

    directory = resolve_model_dir(ns.model)
    overrides = {}
    if ns.labels:
        overrides = {"num_labels": len(ns.labels), "id2label": dict(enumerate(ns.labels))}
    model = getattr(modeling, HEADS[ns.head]).from_pretrained(directory, **overrides)
    out = export_model(model, ns.out, AutoTokenizer.from_pretrained(directory))
    written = {"export": str(out)}
    if ns.onnx or ns.int8:
        onnx_path = export_onnx(out)
        written["onnx"] = str(onnx_path)
        if ns.int8:
            written["int8"] = str(quantize_onnx(onnx_path))
    print(json.dumps(written, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
