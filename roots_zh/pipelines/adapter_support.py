"""Adapter options shared by every pipeline: ``fit(..., adapter=...)`` and adapter-aware saving."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Union

from ..modeling.adapters import LoraConfig, apply_lora, save_adapter

AdapterOption = Union[None, str, dict, LoraConfig]
ADAPTER_CHOICES = (None, "lora", "frozen_embeddings")


def enable_adapter(model, adapter: AdapterOption) -> Optional[LoraConfig]:
    """``None``: full fine-tuning; ``"lora"``: rank-8 LoRA + heads/LayerNorms; ``"frozen_embeddings"``:
    all but the word embeddings; a ``LoraConfig`` or its fields as a dict (a recipe's JSON, e.g.
    ``{"rank": 8, "embedding_rank": 0}``). Applied once (a second fit keeps it)."""
    if adapter is None or getattr(model, "lora_config", None) is not None:
        return getattr(model, "lora_config", None)
    if isinstance(adapter, LoraConfig):
        config = adapter
    elif isinstance(adapter, dict):
        unknown = sorted(set(adapter) - set(LoraConfig.__dataclass_fields__))
        if unknown:
            raise ValueError(f"`adapter` has unknown LoraConfig fields {unknown}")
        config = LoraConfig(**adapter)
    elif adapter == "lora":
        config = LoraConfig()
    elif adapter == "frozen_embeddings":
        config = LoraConfig.frozen_embeddings()
    else:
        raise ValueError(f"`adapter`={adapter!r} is not valid; choose one of {list(ADAPTER_CHOICES)} "
                         "or a LoraConfig (or its fields as a dict)")
    return apply_lora(model, config)


def save_model(model, tokenizer, directory: Union[str, os.PathLike], base_model: Optional[str],
               dtype: Optional[str] = None) -> Path:
    """A full checkpoint, or (for a model trained with an adapter) only the adapter over ``base_model``."""
    if getattr(model, "lora_config", None) is not None:
        if not base_model:
            raise ValueError("this model was trained with an adapter but its base model is unknown; "
                             "load it with from_pretrained(<registered name or directory>)")
        save_adapter(model, directory, base_model=base_model, dtype=dtype or "float16")
    else:
        model.save_pretrained(directory, dtype=dtype)
    tokenizer.save_pretrained(directory)
    return Path(directory)
