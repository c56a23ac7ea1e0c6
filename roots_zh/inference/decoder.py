"""Exported generation: a prefill program and a decoder *step* with the key/value cache as explicit
inputs/outputs. ``roots_zh.generation.StaticPrefixLMDecoder`` runs them (greedy and beam search).

Layout of ``export_decoder(model, dir)``::

    prefill/  model.json, model.pdiparams, inference.json   source ids -> last logits + cache
    step/     model.json, model.pdiparams, inference.json   one token + cache -> logits + new cache
    config.json, decoder.json (+ tokenizer files)

Cache tensors are ``past_{2*i}`` (keys) and ``past_{2*i+1}`` (values) of layer ``i``, each
``[batch, heads, past_len, head_dim]`` with batch and past length dynamic.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Union

from ..utils.files import move_files_into
from .export import MANIFEST_NAME, MODEL_PREFIX

DECODER_MANIFEST = "decoder.json"
IDS = ("input_ids", "attention_mask", "prefix_mask", "position_ids", "token_type_ids")


def _programs(model):
    import paddle

    n_layers = model.config.num_hidden_layers

    def head(out):
        logits = model.lm_head(out.last_hidden_state[:, -1], model.roots.embeddings.word_embeddings.weight)
        return [logits] + [t for kv in out.past_key_values for t in kv]

    class Prefill(paddle.nn.Layer):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, prefix_mask, position_ids, token_type_ids):
            return head(self.model.roots(input_ids, token_type_ids, attention_mask, position_ids=position_ids,
                                         mode="prefix", prefix_mask=prefix_mask, use_cache=True))

    class Step(paddle.nn.Layer):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, prefix_mask, position_ids, token_type_ids, past):
            cache = [(past[2 * i], past[2 * i + 1]) for i in range(n_layers)]
            return head(self.model.roots(input_ids, token_type_ids, attention_mask, position_ids=position_ids,
                                         mode="prefix", prefix_mask=prefix_mask, past_key_values=cache,
                                         use_cache=True))

    return Prefill(), Step()


def export_decoder(model, directory: Union[str, os.PathLike], tokenizer=None) -> Path:
    """Export a ``RootsForPrefixLM`` as prefill + cached step programs (see module docstring)."""
    import paddle
    from paddle.static import InputSpec

    if type(model).__name__ != "RootsForPrefixLM":
        raise TypeError(f"`model` must be a RootsForPrefixLM, got {type(model).__name__}")
    cfg = model.config
    heads, head_dim, n_layers = cfg.num_attention_heads, cfg.hidden_size // cfg.num_attention_heads, \
        cfg.num_hidden_layers
    ids_spec = [InputSpec([None, None], "int64", n) for n in IDS]
    cache_names = [f"past_{i}" for i in range(2 * n_layers)]
    cache_spec = [InputSpec([None, heads, None, head_dim], "float32", n) for n in cache_names]
    ids_inputs = [{"name": n, "dtype": "int64", "shape": [-1, -1]} for n in IDS]
    cache_inputs = [{"name": n, "dtype": "float32", "shape": [-1, heads, -1, head_dim]} for n in cache_names]
    outputs = ["logits"] + [f"present_{i}" for i in range(2 * n_layers)]
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    model.eval()
    prefill, step = _programs(model)
    with tempfile.TemporaryDirectory(prefix=f".{directory.name}.", dir=directory.parent) as tmp_name:
        tmp = Path(tmp_name)
        for name, layer, spec, inputs in (("prefill", prefill, ids_spec, ids_inputs),
                                          ("step", step, ids_spec + [cache_spec], ids_inputs + cache_inputs)):
            sub = tmp / name
            paddle.jit.save(paddle.jit.to_static(layer, input_spec=spec, full_graph=True), str(sub / MODEL_PREFIX))
            manifest = {"format": "pir", "model_file": f"{MODEL_PREFIX}.json", "params_file": f"{MODEL_PREFIX}.pdiparams",
                        "architecture": "RootsForPrefixLM", "task": f"generation_{name}", "inputs": inputs,
                        "outputs": outputs, "same_shape": False}
            (sub / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        cfg.save_pretrained(tmp)
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp)
        (tmp / DECODER_MANIFEST).write_text(json.dumps(
            {"num_layers": n_layers, "num_heads": heads, "head_dim": head_dim,
             "max_positions": cfg.max_position_embeddings, "programs": ["prefill", "step"]}, indent=2) + "\n")
        move_files_into(tmp, directory, last=DECODER_MANIFEST)
    return directory
