"""LoRA adapters: train a few low-rank matrices (plus heads and LayerNorms) on top of frozen
roots-base, ship them as a small ``adapter.safetensors`` and merge them back at load time, so an
adapted model runs exactly as fast as a plain one.

A shipped adapter directory holds ``config.json`` (the task model's config, e.g. its labels),
``adapter_config.json`` (``base_model``, rank, alpha, targets) and ``adapter.safetensors``
(``<linear>.lora_A`` ``[in, r]``, ``<linear>.lora_B`` ``[r, out]`` and the fully trained tensors).
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ..utils.files import atomic_write_text
from . import checkpoint
from .model import HEAD_PREFIXES  # heads may be re-initialised

logger = logging.getLogger(__name__)

ADAPTER_CONFIG_NAME = "adapter_config.json"
ADAPTER_WEIGHTS_NAME = "adapter.safetensors"
LORA_TARGETS = ("qkv", "out", "fc1", "fc2")
# parameters trained in full next to the LoRA matrices: task heads, pooler and every LayerNorm
FULL_TRAIN_PATTERNS = ("classifier.", "qa_outputs.", "lm_head.", "pooler.", "_norm.", "embeddings.layer_norm.", "crf")


# "rank 0": no low-rank update; everything but the (tied, largest) word embeddings trains in full
ENCODER_FULL_TRAIN = ("roots.encoder.", "roots.embeddings.position", "roots.embeddings.token_type",
                      "roots.embeddings.task_type", "roots.embeddings.layer_norm") + FULL_TRAIN_PATTERNS


@dataclass
class LoraConfig:
    """``rank``/``alpha`` of the low-rank update ``W + (alpha / rank) * A @ B`` on ``targets``;
    parameters matching ``full_train`` train in full. ``rank=0`` adds no low-rank update (use it
    with :meth:`frozen_embeddings`: fine-tune all but the word embeddings, ship ~45 % of the weights).
    """

    rank: int = 8
    alpha: float = 16.0
    dropout: float = 0.0
    embedding_rank: int = 32  # low-rank update of the word embeddings (0 = frozen): lexical cues matter
    targets: Tuple[str, ...] = LORA_TARGETS
    full_train: Tuple[str, ...] = FULL_TRAIN_PATTERNS
    base_model: Optional[str] = None  # registered name or directory the adapter was trained on
    base_sha256: Optional[str] = None  # of the base's weights file: an adapter only fits the weights it was trained on
    extra: Dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.rank, bool) or not isinstance(self.rank, int) or self.rank < 0:
            raise ValueError(f"LoraConfig.rank must be an int >= 0, got {self.rank!r}")
        if not isinstance(self.alpha, (int, float)) or self.alpha <= 0:
            raise ValueError(f"LoraConfig.alpha must be a positive number, got {self.alpha!r}")
        if isinstance(self.embedding_rank, bool) or not isinstance(self.embedding_rank, int) or self.embedding_rank < 0:
            raise ValueError(f"LoraConfig.embedding_rank must be an int >= 0, got {self.embedding_rank!r}")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"LoraConfig.dropout must be in [0, 1), got {self.dropout!r}")
        self.targets = tuple(self.targets)
        self.full_train = tuple(self.full_train)
        if self.rank and not self.targets:
            raise ValueError("LoraConfig.targets is empty: name at least one linear layer (e.g. 'qkv')")
        if not self.rank and not self.full_train:
            raise ValueError("LoraConfig with rank=0 needs `full_train` patterns, else nothing trains")

    @classmethod
    def frozen_embeddings(cls, **kwargs) -> "LoraConfig":
        """Full fine-tuning of everything but the word embeddings (no low-rank matrices)."""
        return cls(rank=0, full_train=ENCODER_FULL_TRAIN, **kwargs)

    @property
    def scale(self) -> float:
        return float(self.alpha) / self.rank if self.rank else 0.0


class LoRAEmbedding(nn.Layer):
    """A frozen ``nn.Embedding`` plus a low-rank update ``A[V, r] @ B[r, H]`` (A starts at zero).

    ``weight`` is the effective table, so heads that tie to ``word_embeddings.weight`` (the MLM and
    prefix-LM output projection) see the same update as the input side."""

    def __init__(self, base: nn.Embedding, rank: int, scale: float) -> None:
        super().__init__()
        self.base = base
        vocab, hidden = base.weight.shape
        self.scale = scale
        self._padding_idx = getattr(base, "_padding_idx", None)
        self.lora_A = self.create_parameter([vocab, rank], default_initializer=nn.initializer.Constant(0.0))
        self.lora_B = self.create_parameter([rank, hidden], default_initializer=nn.initializer.Normal(0.0, 0.02))
        self.base.weight.stop_gradient = True

    @property
    def weight(self):
        return self.merged_weight()

    def merged_weight(self) -> paddle.Tensor:
        return self.base.weight + paddle.matmul(self.lora_A, self.lora_B) * self.scale

    def forward(self, ids):
        return F.embedding(ids, self.merged_weight(), padding_idx=self._padding_idx)


class LoRALinear(nn.Layer):
    """A frozen ``nn.Linear`` plus a trainable low-rank update (B starts at zero: a no-op at init)."""

    def __init__(self, base: nn.Linear, rank: int, scale: float, dropout: float = 0.0) -> None:
        super().__init__()
        self.base = base
        in_features, out_features = base.weight.shape
        self.scale = scale
        self.lora_A = self.create_parameter(
            [in_features, rank], default_initializer=nn.initializer.KaimingUniform())
        self.lora_B = self.create_parameter([rank, out_features],
                                            default_initializer=nn.initializer.Constant(0.0))
        self.dropout = nn.Dropout(dropout) if dropout else None
        for p in self.base.parameters():
            p.stop_gradient = True

    def forward(self, x):
        h = self.dropout(x) if self.dropout is not None else x
        return self.base(x) + paddle.matmul(paddle.matmul(h, self.lora_A), self.lora_B) * self.scale

    def merged_weight(self) -> paddle.Tensor:
        return self.base.weight + paddle.matmul(self.lora_A, self.lora_B) * self.scale


def _named_linears(model: nn.Layer, targets: Sequence[str]) -> List[Tuple[str, nn.Layer, str]]:
    """``(path, parent, attribute)`` of every ``nn.Linear`` whose attribute name is in ``targets``."""
    found = []
    for path, layer in model.named_sublayers(include_self=True):
        for attr, child in layer.named_children():
            if attr in targets and isinstance(child, nn.Linear):
                found.append((f"{path}.{attr}" if path else attr, layer, attr))
    return found


def apply_lora(model: nn.Layer, config: Optional[LoraConfig] = None) -> LoraConfig:
    """Freeze ``model`` and wrap its target linears with ``LoRALinear`` (in place).

    Trainable afterwards: the LoRA matrices and parameters whose name contains a ``full_train``
    pattern (heads, pooler, LayerNorms). Returns the config used."""
    config = config or LoraConfig()
    if getattr(model, "lora_config", None) is not None:
        raise ValueError("the model already has LoRA adapters; merge_lora() first")
    linears = _named_linears(model, config.targets) if config.rank else []
    if config.rank and not linears:
        raise ValueError(f"LoraConfig.targets {list(config.targets)} names no nn.Linear of {type(model).__name__}")
    for name, param in model.named_parameters():
        param.stop_gradient = not any(pat in name for pat in config.full_train)
    for _, parent, attr in linears:
        setattr(parent, attr, LoRALinear(getattr(parent, attr), config.rank, config.scale, config.dropout))
    if config.embedding_rank:
        for layer in model.sublayers(include_self=True):
            if isinstance(getattr(layer, "word_embeddings", None), nn.Embedding):
                layer.word_embeddings = LoRAEmbedding(layer.word_embeddings, config.embedding_rank,
                                                      config.alpha / config.embedding_rank)
    model.lora_config = config
    return config


def merge_lora(model: nn.Layer) -> nn.Layer:
    """Fold every ``LoRALinear`` back into a plain ``nn.Linear`` (in place) and unfreeze."""
    for path, layer in list(model.named_sublayers(include_self=True)):
        for attr, child in list(layer.named_children()):
            if isinstance(child, (LoRALinear, LoRAEmbedding)):
                with paddle.no_grad():
                    child.base.weight.set_value(child.merged_weight())
                setattr(layer, attr, child.base)
    for p in model.parameters():
        p.stop_gradient = False
    model.lora_config = None
    return model


def trainable_parameters(model: nn.Layer) -> List[paddle.Tensor]:
    return [p for p in model.parameters() if not p.stop_gradient]


def merged_state(model: nn.Layer) -> Dict[str, np.ndarray]:
    """The full state with every LoRA update folded in, under the plain model's names."""
    state = {}
    wrapped = {path: layer for path, layer in model.named_sublayers()
               if isinstance(layer, (LoRALinear, LoRAEmbedding))}
    for name, p in model.state_dict().items():
        if name.endswith((".lora_A", ".lora_B")):
            continue
        path = name.rsplit(".", 2)[0] if ".base." in name else None
        if path in wrapped and name.endswith(".base.weight"):
            state[path + ".weight"] = wrapped[path].merged_weight().numpy()
        else:
            state[name.replace(".base.", ".")] = p.numpy()
    return state


def adapter_state(model: nn.Layer) -> Dict[str, np.ndarray]:
    """The tensors an adapter ships: LoRA pairs and fully trained parameters (structured names)."""
    return {name: p.numpy() for name, p in model.named_parameters() if not p.stop_gradient}


def save_adapter(model: nn.Layer, directory: str | os.PathLike, base_model: str,
                 dtype: Optional[str] = "float16") -> Path:
    """Write ``config.json`` + ``adapter_config.json`` + ``adapter.safetensors`` (+ checksums)."""
    from ..hub.registry import write_checksums

    config: Optional[LoraConfig] = getattr(model, "lora_config", None)
    if config is None:
        raise ValueError("the model has no LoRA adapters: call apply_lora(model) and train it first")
    if not isinstance(base_model, str) or not base_model:
        raise ValueError("`base_model` must name the registered model or directory the adapter was trained on")
    if dtype == "int8":
        raise ValueError("`dtype`='int8' is for full checkpoints; save adapters as 'float16' (they are small), "
                         "or merge_lora() and save the full model as int8")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model.config.save_pretrained(directory)
    meta = asdict(config)
    meta["base_model"] = base_model
    meta["base_sha256"] = base_weights_sha256(base_model)
    atomic_write_text(directory / ADAPTER_CONFIG_NAME, json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    checkpoint.save_weights(adapter_state(model), directory / ADAPTER_WEIGHTS_NAME, dtype=dtype)
    write_checksums(directory, ["config.json", ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME])
    return directory


def weights_sha256(weights: Path) -> str:
    """sha256 of a weights file: the digest its folder's ``checksums.json`` records (``resolve_model_dir``
    has just verified it), else hashed here; a 15 MB base is not hashed twice per adapter load."""
    from ..hub.registry import read_checksums
    from ..utils.files import sha256_file

    return read_checksums(weights.parent).get(weights.name) or sha256_file(weights)


def base_weights_sha256(base_model: str) -> Optional[str]:
    """sha256 of the weights file of ``base_model`` (a registered name or directory); None if unresolvable."""
    from ..hub.registry import resolve_model_dir

    try:
        return weights_sha256(checkpoint.find_weights(resolve_model_dir(base_model)))
    except (OSError, ValueError, KeyError) as err:
        logger.warning("cannot fingerprint the base model %r of this adapter (%s); its loads go unchecked",
                       base_model, err)
        return None


def check_adapter_base(directory: Path, config: LoraConfig, base_weights: Path) -> None:
    """Refuse to merge an adapter into weights other than those it was trained on."""
    if not config.base_sha256:
        return
    actual = weights_sha256(base_weights)
    if actual != config.base_sha256:
        raise ValueError(f"adapter {directory} was trained on base weights with sha256 {config.base_sha256[:12]}…, "
                         f"but `base_model`={config.base_model!r} resolves to {base_weights} "
                         f"(sha256 {actual[:12]}…): point base_model at the original weights "
                         "or retrain the adapter on the new base")


def read_adapter_config(directory: Path) -> LoraConfig:
    path = Path(directory) / ADAPTER_CONFIG_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"cannot read {path}: {err}") from err
    if not isinstance(data, dict) or not data.get("base_model"):
        raise ValueError(f"{path} must be a JSON object with a `base_model` field")
    known = {f for f in LoraConfig.__dataclass_fields__}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{path} has unknown keys {unknown}; valid keys are {sorted(known)}")
    return LoraConfig(**data)


def load_adapter_into(model: nn.Layer, directory: Path) -> None:
    """Add a saved adapter to ``model`` (already holding the base weights), merged: plain linears."""
    config = read_adapter_config(directory)
    state = checkpoint.load_weights(Path(directory) / ADAPTER_WEIGHTS_NAME)
    own = model.state_dict()
    used = set()
    with paddle.no_grad():
        for name, value in state.items():
            if name.endswith(".lora_A"):
                path = name[: -len(".lora_A")]
                b_name = path + ".lora_B"
                if b_name not in state:
                    raise ValueError(f"adapter {directory} has {name} but no {b_name}")
                target = own.get(path + ".weight")
                if target is None:
                    raise ValueError(f"adapter {directory}: {path} is not a linear layer of {type(model).__name__}")
                rank = state[name].shape[1]
                delta = (state[name] @ state[b_name]) * (float(config.alpha) / rank)
                if tuple(delta.shape) != tuple(target.shape):
                    raise ValueError(f"adapter {directory}: {path} update has shape {delta.shape}, "
                                     f"the layer {tuple(target.shape)}")
                target.set_value((target.numpy() + delta).astype(target.numpy().dtype))
                used.update((name, b_name))
            elif name.endswith(".lora_B"):
                continue
            else:
                key = name.replace(".base.", ".")
                if key not in own:
                    raise ValueError(f"adapter {directory}: tensor {name} has no place in {type(model).__name__}")
                if tuple(own[key].shape) != tuple(value.shape) and key.startswith(HEAD_PREFIXES):
                    used.add(name)  # a new label set: the head keeps its fresh init (as for full checkpoints)
                    continue
                if tuple(own[key].shape) != tuple(value.shape):
                    raise ValueError(f"adapter {directory}: {name} has shape {value.shape}, "
                                     f"the model {tuple(own[key].shape)}")
                own[key].set_value(value.astype(own[key].numpy().dtype))
                used.add(name)
    leftover = sorted(set(state) - used)
    if leftover:
        raise ValueError(f"adapter {directory}: unused tensors {leftover[:5]}")
