"""`RootsPreTrainedModel` (init, save/load, checkpoint conversion) and the bare `RootsModel`."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np
import paddle
import paddle.nn as nn

from ..hub.registry import resolve_model_dir, write_checksums
from ..utils.cpu_blas import enable_fast_path
from . import checkpoint
from .config import CONFIG_NAME, RootsConfig
from .convert import check_shapes, to_roots_names
from .knowledge_fusion import RootsKnowledgeFusion
from .layers import RootsEmbeddings, RootsEncoder, RootsPooler
from .masks import build_attention_bias
from .outputs import BaseModelOutput

logger = logging.getLogger(__name__)
HEAD_PREFIXES = ("lm_head.", "classifier.", "qa_outputs.", "crf")


class RootsPreTrainedModel(nn.Layer):
    """Base of every ROOTS model: one weight init, ``save_pretrained`` and ``from_pretrained``."""

    config_class = RootsConfig
    base_model_prefix = "roots"

    def __init__(self, config: RootsConfig) -> None:
        super().__init__()
        if not isinstance(config, RootsConfig):
            raise TypeError(f"`config` must be a RootsConfig, got {type(config).__name__}")
        enable_fast_path()  # before the model's first BLAS call; a no-op after the first time
        self.config = config

    # ------------------------------------------------------------------ init
    def post_init(self) -> None:
        with paddle.no_grad():
            for layer in self.sublayers(include_self=True):
                self._init_weights(layer)

    def _init_weights(self, layer: nn.Layer) -> None:
        std = self.config.initializer_range
        if isinstance(layer, (nn.Linear, nn.Embedding)):
            layer.weight.set_value(paddle.normal(0.0, std, layer.weight.shape).astype(layer.weight.dtype))
            if isinstance(layer, nn.Linear) and layer.bias is not None:
                layer.bias.set_value(paddle.full_like(layer.bias, getattr(layer, "roots_bias_init", 0.0)))
        elif isinstance(layer, nn.LayerNorm):
            layer.weight.set_value(paddle.ones_like(layer.weight))
            layer.bias.set_value(paddle.zeros_like(layer.bias))

    def num_parameters(self, exclude_embeddings: bool = False) -> int:
        return int(sum(int(np.prod(p.shape)) for n, p in self.named_parameters()
                       if not (exclude_embeddings and "embeddings" in n)))

    # ------------------------------------------------------------------ save
    def save_pretrained(self, save_directory: str | os.PathLike, dtype: Optional[str] = None) -> Path:
        """Write ``config.json``, ``model.safetensors`` and ``checksums.json``.

        ``dtype``: ``None`` (as held, fp32), ``"float32"``, ``"float16"`` or ``"int8"`` (weight-only:
        big matrices as per-row/column int8 + scales, the rest fp16; about half the fp16 size).
        ``from_pretrained`` detects int8 files and dequantizes them to fp32, with no flag."""
        directory = Path(save_directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.config.save_pretrained(directory)
        if getattr(self, "lora_config", None) is not None:  # LoRA in training: save the merged weights
            from .adapters import merged_state

            state = merged_state(self)
        else:
            state = {k: v.numpy() for k, v in self.state_dict().items()}
        checkpoint.save_weights(state, directory / checkpoint.WEIGHTS_NAME, dtype=dtype)
        write_checksums(directory, [CONFIG_NAME, checkpoint.WEIGHTS_NAME])
        return directory

    # ------------------------------------------------------------------ load
    @classmethod
    def from_pretrained(cls, name_or_dir: str | os.PathLike, config: Optional[RootsConfig] = None,
                        **config_overrides: Any):
        """Load a registered name, a ROOTS directory, a PaddleNLP ERNIE/BERT or a HF BERT directory.

        ``config_overrides`` set config fields, e.g. ``num_labels=15`` for a new head.
        """
        directory = resolve_model_dir(name_or_dir)
        if (directory / "adapter_config.json").is_file():  # a LoRA adapter: base weights + merged update
            return cls._from_adapter(directory, config, **config_overrides)
        if config is None:
            config = RootsConfig.from_pretrained(directory, **config_overrides)
        elif config_overrides:
            raise ValueError("pass either `config` or config overrides, not both")
        state = to_roots_names(checkpoint.load_weights(checkpoint.find_weights(directory)))
        model = cls(config)
        model.load_roots_state(state)
        model.eval()
        return model

    @classmethod
    def _from_adapter(cls, directory: Path, config: Optional[RootsConfig] = None, **config_overrides: Any):
        from .adapters import check_adapter_base, load_adapter_into, read_adapter_config

        adapter = read_adapter_config(directory)
        base_dir = resolve_model_dir(adapter.base_model)
        base_weights = checkpoint.find_weights(base_dir)
        check_adapter_base(directory, adapter, base_weights)
        if config is None:
            config = RootsConfig.from_pretrained(directory, **config_overrides)
        elif config_overrides:
            raise ValueError("pass either `config` or config overrides, not both")
        model = cls(config)
        model.load_roots_state(to_roots_names(checkpoint.load_weights(base_weights)))
        load_adapter_into(model, directory)
        model.eval()
        return model

    def load_roots_state(self, state: Dict[str, np.ndarray]) -> None:
        """Load ROOTS-named weights (backbone keys without prefix); new heads keep their init."""
        prefix = self.base_model_prefix + "."
        own = self.state_dict()
        source_key = {k: (k[len(prefix):] if k.startswith(prefix) else k) for k in own}
        is_head = {k: k.startswith(HEAD_PREFIXES) for k in own}
        # a head of another size (new label set) is re-initialised; a backbone mismatch is an error
        state = {k: v for k, v in state.items()
                 if not (k.startswith(HEAD_PREFIXES) and k in own and tuple(v.shape) != tuple(own[k].shape))}
        check_shapes(state, {source_key[k]: tuple(v.shape) for k, v in own.items() if not is_head[k]})
        missing_backbone, fresh = [], []
        for key, param in own.items():
            value = state.get(source_key[key])
            if value is None:
                new = is_head[key] or "pooler" in key or "knowledge_fusion." in key
                (fresh if new else missing_backbone).append(key)
                continue
            param.set_value(value.astype(np.dtype(str(param.dtype).replace("paddle.", ""))))
        if missing_backbone:
            raise ValueError(f"checkpoint lacks backbone weights: {missing_backbone[:5]}"
                             f"{' …' if len(missing_backbone) > 5 else ''}")
        if fresh:
            logger.info("newly initialised (not in checkpoint): %s", fresh)
        unused = set(state) - set(source_key.values())
        if unused:
            logger.info("checkpoint weights not used by %s: %s", type(self).__name__, sorted(unused)[:10])


class RootsModel(RootsPreTrainedModel):
    """The ROOTS encoder. ``mode`` picks bidirectional, causal or prefix attention (same weights)."""

    def __init__(self, config: RootsConfig, add_pooling_layer: bool = True) -> None:
        super().__init__(config)
        self.embeddings = RootsEmbeddings(config)
        self.encoder = RootsEncoder(config)
        self.pooler = RootsPooler(config) if add_pooling_layer else None
        self.knowledge_fusion = RootsKnowledgeFusion(config) if config.knowledge_fusion else None
        self.post_init()

    def _check_ids(self, input_ids) -> None:
        if not paddle.in_dynamic_mode():  # traced graphs (to_static/export) skip eager checks
            return
        if not isinstance(input_ids, paddle.Tensor):
            raise TypeError(f"`input_ids` must be a paddle.Tensor, got {type(input_ids).__name__}")
        if input_ids.ndim != 2:
            raise ValueError(f"`input_ids` must be [batch, seq_len], got shape {input_ids.shape}")
        if input_ids.size > 0:
            ids = input_ids.numpy()  # one copy instead of two reductions and two syncs
            lo, hi = int(ids.min()), int(ids.max())
            if lo < 0 or hi >= self.config.vocab_size:
                raise ValueError(f"`input_ids` holds ids in [{lo}, {hi}] outside the vocabulary "
                                 f"[0, {self.config.vocab_size})")

    def _check_entity_ids(self, entity_ids, input_ids) -> None:
        if self.knowledge_fusion is None:
            raise ValueError("`entity_ids` was passed but config.knowledge_fusion is None (no fusion layer)")
        if not paddle.in_dynamic_mode():
            return
        if entity_ids.ndim != 3 or tuple(entity_ids.shape[:2]) != tuple(input_ids.shape):
            raise ValueError(f"`entity_ids` must be [batch, seq_len, K] matching `input_ids` "
                             f"{input_ids.shape}, got shape {entity_ids.shape}")
        if entity_ids.size > 0:
            lo, hi = int(entity_ids.min()), int(entity_ids.max())
            if lo < 0 or hi >= self.knowledge_fusion.num_entities:
                raise ValueError(f"`entity_ids` holds ids in [{lo}, {hi}] outside "
                                 f"[0, {self.knowledge_fusion.num_entities})")

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, position_ids=None,
                task_type_ids=None, mode: str = "bidirectional", prefix_mask=None,
                past_key_values=None, use_cache: bool = False,
                output_hidden_states: bool = False, entity_ids=None) -> BaseModelOutput:
        """Encode ``input_ids`` ``[B, S]``.

        ``attention_mask``: 1 = real token, 0 = padding; ``[B, past+S]`` or a 3-D/4-D mask; ``None``
        means all ones (the pad id is never used to guess padding). ``prefix_mask`` ``[B, past+S]``:
        1 on source tokens (``mode="prefix"``). ``past_key_values``: the cache returned by a previous
        call with ``use_cache=True``; the new tokens continue after it. ``entity_ids``
        ``[B, S, K]`` int64: graph entities linked to each token (0 = none), mixed in by the knowledge
        fusion layer after the encoder (needs ``config.knowledge_fusion``; ``None`` skips it).
        """
        self._check_ids(input_ids)
        eager = paddle.in_dynamic_mode()
        if position_ids is not None and eager and position_ids.size > 0:
            if int(position_ids.numpy().max()) >= self.config.max_position_embeddings:
                raise ValueError(f"`position_ids` exceed max_position_embeddings="
                                 f"{self.config.max_position_embeddings}")
        # eager: plain ints (no shape ops; one new query lets the mask skip its causal part); traced: symbolic
        batch, seq_len = ((input_ids.shape[0], input_ids.shape[1]) if eager
                          else (paddle.shape(input_ids)[0], paddle.shape(input_ids)[1]))
        past_length = past_key_values[0][0].shape[2] if past_key_values is not None else 0
        if past_key_values is not None and not paddle.in_dynamic_mode():
            past_length = paddle.shape(past_key_values[0][0])[2]  # exported decoder step: dynamic past axis
        if paddle.in_dynamic_mode() and position_ids is None:
            if past_length + input_ids.shape[1] > self.config.max_position_embeddings:
                raise ValueError(
                    f"sequence length {past_length + input_ids.shape[1]} exceeds max_position_embeddings="
                    f"{self.config.max_position_embeddings}; truncate or window the input")
        x = self.embeddings(input_ids, token_type_ids, position_ids, task_type_ids, past_length)
        bias = build_attention_bias(attention_mask, batch, seq_len,
                                    seq_len + past_length, mode=mode, prefix_mask=prefix_mask,
                                    dtype=x.dtype)
        x, hidden_states, cache = self.encoder(x, bias, past_key_values, use_cache, output_hidden_states)
        if entity_ids is not None:
            self._check_entity_ids(entity_ids, input_ids)
            x = self.knowledge_fusion(x, entity_ids)
        pooled = self.pooler(x) if self.pooler is not None else None
        return BaseModelOutput(x, pooled, hidden_states, cache)
