"""Typed model outputs. Every model returns its dataclass, whatever the arguments."""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

import paddle

Cache = List[Tuple[paddle.Tensor, paddle.Tensor]]


@dataclass
class BaseModelOutput:
    last_hidden_state: paddle.Tensor
    pooler_output: Optional[paddle.Tensor] = None
    hidden_states: Optional[List[paddle.Tensor]] = None
    past_key_values: Optional[Cache] = None


@dataclass
class MaskedLMOutput:
    loss: Optional[paddle.Tensor]
    logits: paddle.Tensor
    hidden_states: Optional[List[paddle.Tensor]] = None


@dataclass
class PrefixLMOutput:
    loss: Optional[paddle.Tensor]
    logits: paddle.Tensor
    past_key_values: Optional[Cache] = None


@dataclass
class SequenceClassifierOutput:
    loss: Optional[paddle.Tensor]
    logits: paddle.Tensor
    hidden_states: Optional[List[paddle.Tensor]] = None


@dataclass
class TokenClassifierOutput:
    loss: Optional[paddle.Tensor]
    logits: paddle.Tensor
    hidden_states: Optional[List[paddle.Tensor]] = None


@dataclass
class QuestionAnsweringOutput:
    loss: Optional[paddle.Tensor]
    start_logits: paddle.Tensor
    end_logits: paddle.Tensor


@dataclass
class SentenceEmbeddingOutput:
    loss: Optional[paddle.Tensor]
    embeddings: paddle.Tensor  # [B, H], unit length
