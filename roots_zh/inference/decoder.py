"""Exported generation: a prefill program and a decoder *step* with the key/value cache as explicit
inputs/outputs, and a greedy decoder running both with Paddle Inference.

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
from typing import Optional, Union

import numpy as np

from ..utils.numeric import log_softmax
from ..utils.validation import check_positive_int
from .export import MANIFEST_NAME, MODEL_PREFIX, _move_into
from .predictor import Predictor

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
        _move_into(tmp, directory)
    return directory


class StaticPrefixLMDecoder:
    """The decoder interface of ``pipelines.generation`` (``start``/``step``/``reorder``) on the exported
    prefill + cached step programs, so greedy *and* beam search (no-repeat-n-gram, length penalty…) run
    on Paddle Inference. Sources are left-padded; the cache lives in numpy between steps."""

    def __init__(self, directory: Union[str, os.PathLike], pad_token_id: int, threads: int = 2,
                 target_type_id: int = 1) -> None:
        directory = Path(directory)
        if not (directory / DECODER_MANIFEST).is_file():
            raise FileNotFoundError(f"{directory} holds no exported decoder ({DECODER_MANIFEST}); "
                                    f"use roots_zh.inference.export_decoder")
        self.spec = json.loads((directory / DECODER_MANIFEST).read_text())
        self.prefill = Predictor(directory / "prefill", threads=threads)
        self.step_program = Predictor(directory / "step", threads=threads)
        self.pad_token_id, self.target_type_id = pad_token_id, target_type_id

    def start(self, sources, repeat: int = 1) -> np.ndarray:
        width = max(len(s) for s in sources)
        ids = np.full((len(sources), width), self.pad_token_id, dtype=np.int64)
        mask = np.zeros_like(ids)
        for i, s in enumerate(sources):
            ids[i, width - len(s):] = s
            mask[i, width - len(s):] = 1
        ids, mask = np.repeat(ids, repeat, axis=0), np.repeat(mask, repeat, axis=0)
        positions = np.clip(np.cumsum(mask, axis=1) - 1, 0, None)
        out = self.prefill.run({"input_ids": ids, "attention_mask": mask, "prefix_mask": mask,
                                "position_ids": positions, "token_type_ids": np.zeros_like(ids)})
        self.mask, self.prefix, self.next_pos, self.cache = mask, mask, positions[:, -1:] + 1, list(out[1:])
        return log_softmax(out[0])

    def step(self, tokens) -> np.ndarray:
        step_ids = np.asarray(tokens, dtype=np.int64).reshape(-1, 1)
        self.mask = np.concatenate([self.mask, np.ones_like(step_ids)], axis=1)
        self.prefix = np.concatenate([self.prefix, np.zeros_like(step_ids)], axis=1)
        feeds = {"input_ids": step_ids, "attention_mask": self.mask, "prefix_mask": self.prefix,
                 "position_ids": self.next_pos, "token_type_ids": np.full_like(step_ids, self.target_type_id)}
        feeds.update({f"past_{i}": c for i, c in enumerate(self.cache)})
        out = self.step_program.run(feeds)
        self.cache, self.next_pos = list(out[1:]), self.next_pos + 1
        return log_softmax(out[0])

    def reorder(self, rows) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        self.mask, self.prefix, self.next_pos = self.mask[rows], self.prefix[rows], self.next_pos[rows]
        self.cache = [c[rows] for c in self.cache]


class StaticGreedyDecoder(StaticPrefixLMDecoder):
    """Greedy decoding on the exported programs from id arrays; same tokens as
    ``RootsForPrefixLM.generate`` (sources are the masked rows of ``input_ids``)."""

    def __init__(self, directory: Union[str, os.PathLike], threads: int = 2, pad_token_id: int = 0) -> None:
        super().__init__(directory, pad_token_id, threads=threads)

    def generate(self, input_ids: np.ndarray, attention_mask: Optional[np.ndarray] = None,
                 max_new_tokens: int = 32, eos_token_id: Optional[int] = None) -> np.ndarray:
        """``[B, <=max_new_tokens]`` int64 ids (after ``eos``, rows hold ``eos``)."""
        check_positive_int(max_new_tokens, "max_new_tokens")
        if not isinstance(input_ids, np.ndarray) or input_ids.ndim != 2:
            raise ValueError("`input_ids` must be a [batch, seq_len] numpy array")
        mask = np.ones_like(input_ids, dtype=bool) if attention_mask is None else attention_mask.astype(bool)
        if input_ids.shape[1] + max_new_tokens > self.spec["max_positions"]:
            raise ValueError(f"source + max_new_tokens exceeds max_position_embeddings={self.spec['max_positions']}")
        logp = self.start([row[keep] for row, keep in zip(input_ids, mask)])
        done = np.zeros(input_ids.shape[0], dtype=bool)
        generated = []
        for _ in range(max_new_tokens):
            token = logp.argmax(-1).astype("int64")
            if eos_token_id is not None:
                token = np.where(done, eos_token_id, token)
                done |= token == eos_token_id
            generated.append(token)
            if eos_token_id is not None and done.all():
                break
            logp = self.step(token)
        return np.stack(generated, axis=1)
