"""`RootsConfig`: the architecture of a ROOTS encoder, readable from PaddleNLP and HF config files."""
from __future__ import annotations

import inspect
import json
import logging
import os
from pathlib import Path
from typing import Any, Dict, Optional

from ..utils.files import atomic_write_text

logger = logging.getLogger(__name__)

CONFIG_NAME = "config.json"
LEGACY_PADDLENLP_CONFIG = "model_config.json"

# Names other libraries use for our fields (PaddleNLP `attribute_map`, HF, old PaddleNLP files).
KEY_ALIASES = {
    "num_classes": "num_labels",
    "dropout": "classifier_dropout",
    "n_layer": "num_hidden_layers",
    "n_head": "num_attention_heads",
    "n_embd": "hidden_size",
}


def _typed(value: Any, kind: type, field: str) -> Any:
    try:
        if isinstance(value, bool) or (kind is int and isinstance(value, float) and not value.is_integer()):
            raise TypeError
        return kind(value)
    except (TypeError, ValueError):
        raise ValueError(f"RootsConfig.{field} must be {kind.__name__}, got {value!r}") from None


CLASSIFIER_POOLINGS = ("cls", "mean")


class RootsConfig:
    """Architecture of a ROOTS (BERT/ERNIE-compatible) encoder.

    Args:
        vocab_size: number of token ids.
        hidden_size: width of every layer.
        num_hidden_layers: number of transformer layers.
        num_attention_heads: heads per attention layer; must divide ``hidden_size``.
        intermediate_size: width of the feed-forward layer.
        hidden_act: feed-forward activation, ``"gelu"`` (exact, as BERT) or ``"relu"``.
        hidden_dropout_prob: dropout on embeddings and sub-layer outputs.
        attention_probs_dropout_prob: dropout on attention weights.
        max_position_embeddings: longest sequence the learned positions cover.
        type_vocab_size: number of token-type (segment) ids.
        use_task_id: add ERNIE-3.0 task-type embeddings.
        task_type_vocab_size: number of task-type ids when ``use_task_id``.
        task_id: default task-type id when none is passed (ERNIE 3.0).
        initializer_range: std of the normal init.
        layer_norm_eps: epsilon of every LayerNorm.
        pad_token_id: id of the padding token.
        num_labels: classes of a classification head.
        classifier_dropout: dropout before task heads; ``None`` means ``hidden_dropout_prob``.
        id2label: optional ``{id: name}`` of the classification head.
        knowledge_fusion: optional dict configuring the knowledge fusion layer (``None`` = off).
        pre_layer_norm: Pre-LN blocks (``x + f(LN(x))``, one final LayerNorm) instead of BERT's
            Post-LN; Pre-LN trains without the long early plateau of Post-LN (Xiong et al., 2020).
            BERT/ERNIE checkpoints are Post-LN (``False``, the default).
        classifier_pooling: what a sequence-classification head reads: ``"cls"`` (BERT's tanh pooler
            over [CLS], the default) or ``"mean"`` (mean of the last hidden states over real tokens,
            no pooler), which uses token features straight from MLM pretraining.
        crf: a token-classification head with a linear-chain CRF (learned transition scores,
            ``roots_zh.modeling.crf``) instead of per-token cross-entropy.
    """

    model_type = "roots"

    def __init__(
        self,
        vocab_size: int = 21128,
        hidden_size: int = 256,
        num_hidden_layers: int = 4,
        num_attention_heads: int = 4,
        intermediate_size: int = 1024,
        hidden_act: str = "gelu",
        hidden_dropout_prob: float = 0.1,
        attention_probs_dropout_prob: float = 0.1,
        max_position_embeddings: int = 512,
        type_vocab_size: int = 2,
        use_task_id: bool = False,
        task_type_vocab_size: int = 3,
        task_id: int = 0,
        initializer_range: float = 0.02,
        layer_norm_eps: float = 1e-12,
        pad_token_id: int = 0,
        num_labels: int = 2,
        classifier_dropout: Optional[float] = None,
        id2label: Optional[Dict[int, str]] = None,
        knowledge_fusion: Optional[Dict[str, Any]] = None,
        pre_layer_norm: bool = False,
        classifier_pooling: str = "cls",
        crf: bool = False,
        **kwargs: Any,
    ) -> None:
        self.vocab_size = _typed(vocab_size, int, "vocab_size")
        self.hidden_size = _typed(hidden_size, int, "hidden_size")
        self.num_hidden_layers = _typed(num_hidden_layers, int, "num_hidden_layers")
        self.num_attention_heads = _typed(num_attention_heads, int, "num_attention_heads")
        self.intermediate_size = _typed(intermediate_size, int, "intermediate_size")
        self.hidden_act = hidden_act
        self.hidden_dropout_prob = _typed(hidden_dropout_prob, float, "hidden_dropout_prob")
        self.attention_probs_dropout_prob = _typed(attention_probs_dropout_prob, float, "attention_probs_dropout_prob")
        self.max_position_embeddings = _typed(max_position_embeddings, int, "max_position_embeddings")
        self.type_vocab_size = _typed(type_vocab_size, int, "type_vocab_size")
        self.use_task_id = bool(use_task_id)
        self.task_type_vocab_size = _typed(task_type_vocab_size, int, "task_type_vocab_size")
        self.task_id = _typed(task_id, int, "task_id")
        self.initializer_range = _typed(initializer_range, float, "initializer_range")
        self.layer_norm_eps = _typed(layer_norm_eps, float, "layer_norm_eps")
        self.pad_token_id = _typed(pad_token_id, int, "pad_token_id") if pad_token_id is not None else 0
        self.num_labels = _typed(num_labels, int, "num_labels")
        self.classifier_dropout = classifier_dropout
        if id2label is not None and not isinstance(id2label, dict):
            raise ValueError(f"RootsConfig.id2label must be a dict {{id: name}}, got {type(id2label).__name__}")
        try:
            self.id2label = {int(k): str(v) for k, v in (id2label or {}).items()} or None
        except ValueError as err:
            raise ValueError(f"RootsConfig.id2label keys must be integer ids: {err}") from None
        self.knowledge_fusion = knowledge_fusion
        if not isinstance(pre_layer_norm, bool):
            raise ValueError(f"RootsConfig.pre_layer_norm must be a bool, got {pre_layer_norm!r}")
        self.pre_layer_norm = pre_layer_norm
        if classifier_pooling not in CLASSIFIER_POOLINGS:
            raise ValueError(f"RootsConfig.classifier_pooling must be one of {CLASSIFIER_POOLINGS}, "
                             f"got {classifier_pooling!r}")
        self.classifier_pooling = classifier_pooling
        if not isinstance(crf, bool):
            raise ValueError(f"RootsConfig.crf must be a bool, got {crf!r}")
        self.crf = crf
        # Fields of other libraries' files that do not change the architecture are kept, not lost.
        self.extra = {k: v for k, v in kwargs.items() if not k.startswith("_")}
        self.validate()

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        for field in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                      "intermediate_size", "max_position_embeddings", "type_vocab_size", "num_labels"):
            if getattr(self, field) <= 0:
                raise ValueError(f"RootsConfig.{field} must be positive, got {getattr(self, field)}")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"RootsConfig.hidden_size ({self.hidden_size}) must be divisible by "
                f"num_attention_heads ({self.num_attention_heads})")
        if self.hidden_act not in ("gelu", "relu", "gelu_new", "gelu_approximate"):
            raise ValueError(f"RootsConfig.hidden_act={self.hidden_act!r}; choose gelu, gelu_new or relu")
        if self.knowledge_fusion is not None and not isinstance(self.knowledge_fusion, dict):
            raise ValueError(f"RootsConfig.knowledge_fusion must be a dict or None, "
                             f"got {type(self.knowledge_fusion).__name__}")
        if not 0 <= self.pad_token_id < self.vocab_size:
            raise ValueError(f"RootsConfig.pad_token_id={self.pad_token_id} outside vocab_size={self.vocab_size}")

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @property
    def label2id(self) -> Dict[str, int]:
        return {v: k for k, v in (self.id2label or {}).items()}

    # ------------------------------------------------------------------ (de)serialisation
    @classmethod
    def _known_fields(cls) -> set:
        return set(inspect.signature(cls.__init__).parameters) - {"self", "kwargs"}

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "RootsConfig":
        if not isinstance(data, dict):
            raise ValueError(f"config must be a dict, got {type(data).__name__}")
        data = dict(data)
        # Old PaddleNLP `model_config.json`: {"init_args": [...], "init_class": ...} or nested kwargs.
        if "init_args" in data and isinstance(data["init_args"], list) and data["init_args"]:
            inner = data["init_args"][0]
            if isinstance(inner, dict):
                data = {**inner, **{k: v for k, v in data.items() if k not in ("init_args", "init_class")}}
        for old, new in KEY_ALIASES.items():
            if old in data and new not in data:
                data[new] = data.pop(old)
        extra = data.pop("extra", {}) or {}
        known = cls._known_fields()
        kwargs = {k: v for k, v in data.items() if k in known}
        unknown = {k: v for k, v in data.items() if k not in known}
        return cls(**kwargs, **{**extra, **unknown})

    def to_dict(self) -> Dict[str, Any]:
        out = {k: getattr(self, k) for k in sorted(self._known_fields())}
        out["model_type"] = self.model_type
        extra = {k: v for k, v in self.extra.items() if k not in out}
        if extra:
            out["extra"] = extra
        return out

    def to_json_string(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"

    def save_pretrained(self, save_directory: str | os.PathLike) -> Path:
        return atomic_write_text(Path(save_directory) / CONFIG_NAME, self.to_json_string())

    @classmethod
    def from_json_file(cls, path: str | os.PathLike) -> "RootsConfig":
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"config file {path} is not valid JSON: {err}") from err
        try:
            return cls.from_dict(data)
        except TypeError as err:
            raise ValueError(f"config file {path} has a field of the wrong type: {err}") from err

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike, **overrides: Any) -> "RootsConfig":
        """Read ``config.json`` (or PaddleNLP's ``model_config.json``) from a directory."""
        directory = Path(directory)
        for name in (CONFIG_NAME, LEGACY_PADDLENLP_CONFIG):
            if (directory / name).is_file():
                config = cls.from_json_file(directory / name)
                break
        else:
            raise FileNotFoundError(
                f"no {CONFIG_NAME} or {LEGACY_PADDLENLP_CONFIG} in {directory}")
        for key, value in overrides.items():
            key = KEY_ALIASES.get(key, key)
            if key not in cls._known_fields():
                raise ValueError(f"unknown config field {key!r}; valid: {sorted(cls._known_fields())}")
            setattr(config, key, value)
        config.validate()
        return config

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RootsConfig) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"RootsConfig {self.to_json_string()}"
