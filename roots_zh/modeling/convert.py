"""Weight-name maps from PaddleNLP ERNIE/BERT and HF BERT checkpoints to ROOTS names.

All maps work on ``{name: numpy array}`` and return backbone keys without a prefix plus head keys
(``lm_head.*``) where the source has them. Every shape is checked against the config.
"""
from __future__ import annotations

import logging
import re
from typing import Dict, Tuple

import numpy as np


logger = logging.getLogger(__name__)
StateDict = Dict[str, np.ndarray]

BACKBONE_PREFIXES = ("roots.", "bert.", "ernie.", "model.")


def detect_format(state: StateDict) -> str:
    """``"roots"``, ``"paddlenlp"`` or ``"hf"`` from characteristic key names."""
    keys = list(state)
    if any(".attention.qkv." in k for k in keys):
        return "roots"
    if any(".self_attn.q_proj." in k for k in keys):
        return "paddlenlp"
    if any(".attention.self.query." in k for k in keys):
        return "hf"
    raise ValueError(
        "unrecognised checkpoint: expected ROOTS (attention.qkv), PaddleNLP (self_attn.q_proj) or "
        f"HF BERT (attention.self.query) weight names; first keys: {keys[:5]}")


def strip_prefix(state: StateDict) -> StateDict:
    out = {}
    for key, value in state.items():
        for prefix in BACKBONE_PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix):]
                break
        out[key] = value
    return out


def _fuse_qkv(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.concatenate([q, k, v], axis=-1)


def _convert_layers(state: StateDict, layer_re: str, names: Dict[str, str], qkv: Tuple[str, str, str],
                    transpose: bool) -> StateDict:
    """Map per-layer keys. ``names``: source sub-name -> ROOTS sub-name; ``qkv``: q/k/v sub-names."""
    out: StateDict = {}
    pattern = re.compile(layer_re)
    layers: Dict[int, Dict[str, np.ndarray]] = {}
    for key, value in state.items():
        m = pattern.match(key)
        if m:
            layers.setdefault(int(m.group(1)), {})[m.group(2)] = value
    for i, params in sorted(layers.items()):
        def get(sub: str) -> np.ndarray:
            value = params[sub]
            return value.T if transpose and sub.endswith("weight") and value.ndim == 2 else value

        for kind in ("weight", "bias"):
            out[f"encoder.layers.{i}.attention.qkv.{kind}"] = _fuse_qkv(
                *(get(f"{name}.{kind}") for name in qkv))
        for src, dst in names.items():
            for kind in ("weight", "bias"):
                src_key = f"{src}.{kind}"
                if src_key not in params and kind == "weight":  # old HF files: gamma/beta
                    src_key = f"{src}.gamma"
                elif src_key not in params and kind == "bias":
                    src_key = f"{src}.beta"
                out[f"encoder.layers.{i}.{dst}.{kind}"] = get(src_key)
    return out


def _embeddings(state: StateDict, ln_name: str) -> StateDict:
    out = {}
    for name in ("word_embeddings", "position_embeddings", "token_type_embeddings", "task_type_embeddings"):
        if f"embeddings.{name}.weight" in state:
            out[f"embeddings.{name}.weight"] = state[f"embeddings.{name}.weight"]
    for kind, old in (("weight", "gamma"), ("bias", "beta")):
        key = f"embeddings.{ln_name}.{kind}"
        out[f"embeddings.layer_norm.{kind}"] = state[key] if key in state else state[f"embeddings.{ln_name}.{old}"]
    return out


def from_paddlenlp(state: StateDict) -> StateDict:
    """PaddleNLP BertModel / ErnieModel (``nn.TransformerEncoder``) -> ROOTS names."""
    state = strip_prefix(state)
    out = _embeddings(state, "layer_norm")
    out.update(_convert_layers(
        state, r"encoder\.layers\.(\d+)\.(.+)$",
        {"self_attn.out_proj": "attention.out", "norm1": "attention_norm",
         "linear1": "ffn.fc1", "linear2": "ffn.fc2", "norm2": "ffn_norm"},
        ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"), transpose=False))
    if "pooler.dense.weight" in state:
        out["pooler.dense.weight"] = state["pooler.dense.weight"]
        out["pooler.dense.bias"] = state["pooler.dense.bias"]
    return out


def from_hf(state: StateDict) -> StateDict:
    """HF ``BertModel``/``BertForMaskedLM`` names (torch Linear weights are [out, in]) -> ROOTS."""
    state = strip_prefix(state)
    out = _embeddings(state, "LayerNorm")
    out.update(_convert_layers(
        state, r"encoder\.layer\.(\d+)\.(.+)$",
        {"attention.output.dense": "attention.out", "attention.output.LayerNorm": "attention_norm",
         "intermediate.dense": "ffn.fc1", "output.dense": "ffn.fc2", "output.LayerNorm": "ffn_norm"},
        ("attention.self.query", "attention.self.key", "attention.self.value"), transpose=True))
    if "pooler.dense.weight" in state:
        out["pooler.dense.weight"] = state["pooler.dense.weight"].T
        out["pooler.dense.bias"] = state["pooler.dense.bias"]
    head = "cls.predictions."
    if head + "transform.dense.weight" in state:
        out["lm_head.transform.weight"] = state[head + "transform.dense.weight"].T
        out["lm_head.transform.bias"] = state[head + "transform.dense.bias"]
        out["lm_head.layer_norm.weight"] = state[head + "transform.LayerNorm.weight"]
        out["lm_head.layer_norm.bias"] = state[head + "transform.LayerNorm.bias"]
        out["lm_head.decoder_bias"] = state.get(head + "bias", state.get(head + "decoder.bias"))
    return out


def to_roots_names(state: StateDict) -> StateDict:
    """Any supported checkpoint -> ROOTS names (backbone without prefix)."""
    fmt = detect_format(state)
    if fmt == "roots":
        return strip_prefix(state)
    converted = from_paddlenlp(state) if fmt == "paddlenlp" else from_hf(state)
    logger.info("converted %d %s weights to ROOTS names", len(converted), fmt)
    return converted


def check_shapes(state: StateDict, expected: Dict[str, tuple]) -> None:
    for key, shape in expected.items():
        if key in state and tuple(state[key].shape) != tuple(shape):
            raise ValueError(
                f"weight {key!r} has shape {tuple(state[key].shape)} but the config expects {tuple(shape)}; "
                "the config.json does not match the weights")
