"""Export a ROOTS model to a static Paddle Inference model (``to_static`` + ``jit.save``).

A deployed directory holds everything needed to run without training code::

    model.json                   the program (Paddle 3 PIR format)
    model.pdiparams              the weights
    config.json                  RootsConfig (id2label for label names)
    spm.model, tokenizer_config.json, ...   the tokenizer (when one is passed)
    inference.json               manifest: format, file names, named inputs with dynamic axes, outputs

Inputs are named ``InputSpec([None, None], "int64", name)``: batch and sequence axes are dynamic.
Only the PIR format is written: a legacy-IR export (``FLAGS_enable_pir_api=0``, ``.pdmodel``) fails
in Paddle 3.3.1 for this model (``matmul(): argument must be Value, but got Variable``).
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Union

from ..hub.tasks import HEAD_TASKS
from ..utils.files import move_files_into

MANIFEST_NAME = "inference.json"
MODEL_PREFIX = "model"
ENCODER_INPUTS = ("input_ids", "token_type_ids", "attention_mask")
# output fields exported per head (the dataclass fields, in order)
OUTPUT_FIELDS: Dict[str, Sequence[str]] = {
    "RootsForSequenceClassification": ("logits",),
    "RootsForTokenClassification": ("logits",),
    "RootsForQuestionAnswering": ("start_logits", "end_logits"),
    "RootsForMaskedLM": ("logits",),
    "RootsForSentenceEmbedding": ("embeddings",),
    "RootsModel": ("last_hidden_state", "pooler_output"),
}


def read_manifest(directory: Union[str, os.PathLike]) -> Dict[str, Any]:
    """The ``inference.json`` of an exported directory (clear errors when it is not one)."""
    path = Path(directory)
    if not path.is_dir():
        raise FileNotFoundError(f"exported model directory {path} does not exist")
    manifest = path / MANIFEST_NAME
    if not manifest.is_file():
        raise FileNotFoundError(f"{path} is not an exported inference model (no {MANIFEST_NAME}); "
                                f"export one with roots_zh.inference.export_model or tools/export.py")
    data = json.loads(manifest.read_text(encoding="utf-8"))
    for name in (data["model_file"], data["params_file"]):
        if not (path / name).is_file():
            raise FileNotFoundError(f"{path / name} listed in {MANIFEST_NAME} is missing")
    return data


def _wrapper(model, fields: Sequence[str]):
    """A layer whose forward takes the named encoder inputs and returns plain tensors."""
    import paddle

    class _Exported(paddle.nn.Layer):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, token_type_ids, attention_mask):
            out = self.inner(input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask)
            values = [getattr(out, f) for f in fields]
            return values[0] if len(values) == 1 else tuple(values)

    layer = _Exported(model)
    layer.eval()
    return layer


def export_model(model, directory: Union[str, os.PathLike], tokenizer=None,
                 output_fields: Optional[Sequence[str]] = None) -> Path:
    """Export ``model`` (a ROOTS encoder or head) and ``tokenizer`` to ``directory``; returns it.

    ``output_fields``: output dataclass fields to export (default per head, see ``OUTPUT_FIELDS``).
    Files are written to a temp dir and moved in one by one, the manifest last.
    """
    import paddle
    from paddle.static import InputSpec

    kind = type(model).__name__
    if not isinstance(model, paddle.nn.Layer) or not hasattr(model, "config"):
        raise TypeError(f"`model` must be a ROOTS model (paddle.nn.Layer with .config), got {kind}")
    fields = tuple(output_fields or OUTPUT_FIELDS.get(kind, ()))
    if not fields:
        raise ValueError(f"no default outputs for {kind}; pass `output_fields` (one of {sorted(OUTPUT_FIELDS)})")
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"`directory` {directory} exists and is not a directory")
    directory.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{directory.name}.", dir=directory.parent) as tmp_name:
        tmp = Path(tmp_name)
        was_training = model.training
        model.eval()
        try:
            spec = [InputSpec([None, None], "int64", name) for name in ENCODER_INPUTS]
            static = paddle.jit.to_static(_wrapper(model, fields), input_spec=spec, full_graph=True)
            paddle.jit.save(static, str(tmp / MODEL_PREFIX))
        finally:
            if was_training:
                model.train()
        model_file = f"{MODEL_PREFIX}.json"
        if not (tmp / model_file).is_file():
            raise RuntimeError(f"paddle.jit.save wrote no {model_file}; is FLAGS_enable_pir_api off?")
        for extra in tmp.glob(f"{MODEL_PREFIX}.pdiparams.info"):
            extra.unlink()
        model.config.save_pretrained(tmp)
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp)
        manifest = {
            "format": "pir", "model_file": model_file, "params_file": f"{MODEL_PREFIX}.pdiparams",
            "architecture": kind, "task": HEAD_TASKS.get(kind, "custom"),
            "inputs": [{"name": n, "dtype": "int64", "shape": [-1, -1], "dynamic_axes": {"0": "batch", "1": "sequence"}}
                       for n in ENCODER_INPUTS],
            "outputs": list(fields), "has_tokenizer": tokenizer is not None,
            "paddle_version": paddle.__version__,
        }
        (tmp / MANIFEST_NAME).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        move_files_into(tmp, directory, last=MANIFEST_NAME)
    return directory

