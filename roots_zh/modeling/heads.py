"""Task heads on one shared backbone call. Each returns its output dataclass; loss only with labels."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from .config import RootsConfig
from .crf import CRF_LR_SCALE, CRF_SCORES_KEY, crf_loss
from .layers import RootsLMHead
from .masks import IGNORE_INDEX
from .model import RootsModel, RootsPreTrainedModel
from .outputs import (MaskedLMOutput, PrefixLMOutput, QuestionAnsweringOutput, SentenceEmbeddingOutput,
                      SequenceClassifierOutput, TokenClassifierOutput)


def token_cross_entropy(logits, labels):
    """Mean cross-entropy over positions whose label is not ``IGNORE_INDEX``.

    (Paddle 3.3's ``cross_entropy(..., ignore_index=...)`` with ``reduction="mean"`` divides by
    *all* positions, ignored ones included, so the mean is taken here.)"""
    vocab = logits.shape[-1]
    labels = labels.reshape([-1]).astype("int64")
    losses = F.cross_entropy(logits.reshape([-1, vocab]), labels, ignore_index=IGNORE_INDEX, reduction="none")
    valid = (labels != IGNORE_INDEX).astype(losses.dtype)
    return losses.reshape([-1]).sum() / paddle.clip(valid.sum(), min=1.0)


def masked_mean(hidden, attention_mask=None):
    """Mean of ``hidden`` ``[B, L, H]`` over the positions where the 2-D ``attention_mask`` is 1."""
    if attention_mask is None or attention_mask.ndim != 2:
        return hidden.mean(axis=1)
    weights = attention_mask.astype(hidden.dtype).unsqueeze(-1)
    return (hidden * weights).sum(axis=1) / paddle.clip(weights.sum(axis=1), min=1.0)


def _dropout(config: RootsConfig) -> nn.Dropout:
    p = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
    return nn.Dropout(p)


class RootsForMaskedLM(RootsPreTrainedModel):
    """MLM head tied to the word embeddings; ``masked_positions`` gathers rows before the projection."""

    def __init__(self, config: RootsConfig) -> None:
        super().__init__(config)
        self.roots = RootsModel(config, add_pooling_layer=False)
        self.lm_head = RootsLMHead(config)
        self.post_init()

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, masked_positions=None,
                labels=None, mode: str = "bidirectional", prefix_mask=None, **backbone_kwargs):
        """``masked_positions``: flat int64 indices into ``batch*seq``; then ``labels`` is ``[N]``."""
        hidden = self.roots(input_ids, token_type_ids, attention_mask, mode=mode,
                            prefix_mask=prefix_mask, **backbone_kwargs).last_hidden_state
        if masked_positions is not None:
            hidden = paddle.gather(hidden.reshape([-1, hidden.shape[-1]]), masked_positions)
        logits = self.lm_head(hidden, self.roots.embeddings.word_embeddings.weight)
        loss = token_cross_entropy(logits, labels) if labels is not None else None
        return MaskedLMOutput(loss, logits)


class RootsForPrefixLM(RootsPreTrainedModel):
    """Seq2seq with the same encoder: source tokens (type 0) attend both ways, target tokens
    (type 1) see the source and their own past. Same weight names as ``RootsForMaskedLM``."""

    def __init__(self, config: RootsConfig) -> None:
        super().__init__(config)
        self.roots = RootsModel(config, add_pooling_layer=False)
        self.lm_head = RootsLMHead(config)
        self.post_init()

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, prefix_mask=None,
                labels=None, past_key_values=None, use_cache: bool = False,
                last_only: bool = False) -> PrefixLMOutput:
        """``labels`` align with ``input_ids`` (``IGNORE_INDEX`` on the source); position i predicts
        token i+1. Without ``prefix_mask`` the source is where ``token_type_ids == 0``."""
        if prefix_mask is None:
            if token_type_ids is None:
                raise ValueError("RootsForPrefixLM needs `prefix_mask` or `token_type_ids` (0 = source)")
            prefix_mask = (token_type_ids == 0).astype("int64")
            if attention_mask is not None and attention_mask.ndim == 2:
                prefix_mask = prefix_mask * attention_mask.astype("int64")
        out = self.roots(input_ids, token_type_ids, attention_mask, mode="prefix",
                         prefix_mask=prefix_mask, past_key_values=past_key_values, use_cache=use_cache)
        hidden = out.last_hidden_state[:, -1:] if last_only else out.last_hidden_state
        logits = self.lm_head(hidden, self.roots.embeddings.word_embeddings.weight)
        loss = None
        if labels is not None:
            loss = token_cross_entropy(logits[:, :-1], labels[:, 1:])
        return PrefixLMOutput(loss, logits, out.past_key_values)


class RootsForSequenceClassification(RootsPreTrainedModel):
    """Pooled [CLS] (or the masked mean of the tokens, ``config.classifier_pooling="mean"``) ->
    dropout -> linear. ``num_labels == 1`` is regression (MSE)."""

    def __init__(self, config: RootsConfig) -> None:
        super().__init__(config)
        self.roots = RootsModel(config, add_pooling_layer=config.classifier_pooling == "cls")
        self.dropout = _dropout(config)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, labels=None, **backbone_kwargs):
        out = self.roots(input_ids, token_type_ids, attention_mask, **backbone_kwargs)
        if self.config.classifier_pooling == "mean":
            pooled = masked_mean(out.last_hidden_state, attention_mask)
        else:
            pooled = out.pooler_output
        logits = self.classifier(self.dropout(pooled))
        loss = None
        if labels is not None:
            loss = (F.mse_loss(logits.squeeze(-1), labels.astype(logits.dtype)) if self.config.num_labels == 1
                    else token_cross_entropy(logits, labels))
        return SequenceClassifierOutput(loss, logits)


class RootsForTokenClassification(RootsPreTrainedModel):
    """Per-token dropout -> linear (NER tags); labels ``IGNORE_INDEX`` on special/sub-word tokens.

    With ``config.crf`` the loss is a linear-chain CRF's (``crf.crf_loss``) over learned
    transition scores ``self.crf`` ``[T + 2, T]``; the logits stay the emission scores, and the
    saved config carries a copy of the scores (``extra["crf_scores"]``) for exported runtimes."""

    def __init__(self, config: RootsConfig) -> None:
        super().__init__(config)
        self.roots = RootsModel(config, add_pooling_layer=False)
        self.dropout = _dropout(config)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.crf = None
        if config.crf:
            self.crf = self.create_parameter(
                [config.num_labels + 2, config.num_labels], attr=paddle.ParamAttr(learning_rate=CRF_LR_SCALE),
                default_initializer=nn.initializer.Constant(0.0))
        self.post_init()

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, labels=None, **backbone_kwargs):
        hidden = self.roots(input_ids, token_type_ids, attention_mask, **backbone_kwargs).last_hidden_state
        logits = self.classifier(self.dropout(hidden))
        loss = None
        if labels is not None:
            loss = token_cross_entropy(logits, labels) if self.crf is None else crf_loss(logits, labels, self.crf)
        return TokenClassifierOutput(loss, logits)

    def save_pretrained(self, save_directory: str | os.PathLike, dtype: Optional[str] = None) -> Path:
        if self.crf is not None:
            self.config.extra[CRF_SCORES_KEY] = self.crf.numpy().round(5).tolist()
        return super().save_pretrained(save_directory, dtype=dtype)


class RootsForQuestionAnswering(RootsPreTrainedModel):
    """Start/end logits for extractive QA; loss is the mean of start and end cross-entropy."""

    def __init__(self, config: RootsConfig) -> None:
        super().__init__(config)
        self.roots = RootsModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)
        self.post_init()

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, start_positions=None,
                end_positions=None, **backbone_kwargs):
        hidden = self.roots(input_ids, token_type_ids, attention_mask, **backbone_kwargs).last_hidden_state
        start_logits, end_logits = paddle.unstack(self.qa_outputs(hidden), axis=-1)
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = (token_cross_entropy(start_logits, start_positions)
                    + token_cross_entropy(end_logits, end_positions)) / 2
        return QuestionAnsweringOutput(loss, start_logits, end_logits)


TEMPERATURE_KEY = "temperature"  # config.extra: the contrastive loss's softmax temperature
COSENT_SCALE = 20.0


def cosent_loss(cosines, labels, scale: float = COSENT_SCALE):
    """CoSENT (Su, 2022): ``log(1 + sum over pairs i, j with label_i > label_j of exp(scale * (cos_j - cos_i)))``:
    every pair labelled more similar must score a higher cosine than every pair labelled less similar."""
    diff = scale * (cosines.unsqueeze(0) - cosines.unsqueeze(1))  # [i, j] = scale * (cos_j - cos_i)
    y = labels.astype(cosines.dtype)
    ordered = (y.unsqueeze(1) > y.unsqueeze(0)).astype(cosines.dtype)
    diff = diff - (1.0 - ordered) * 1e12  # only the ordered pairs count
    return paddle.logsumexp(paddle.concat([paddle.zeros([1], dtype=cosines.dtype), diff.reshape([-1])]), axis=0)


class RootsForSentenceEmbedding(RootsPreTrainedModel):
    """Sentence vectors, as Sentence-BERT / SimCSE: the masked mean of the last hidden states, scaled to
    unit length (so a dot product is a cosine). With ``pair_input_ids`` (row i's positive: a paraphrase,
    or the same text, which dropout turns into a second view) the loss is InfoNCE over the batch: each
    row must pick its own positive among all rows' and the reverse, at ``config.extra["temperature"]``
    (0.05, SimCSE's). With ``labels`` too (1 similar, 0 not) it is :func:`cosent_loss` over the pairs."""

    def __init__(self, config: RootsConfig) -> None:
        super().__init__(config)
        self.roots = RootsModel(config, add_pooling_layer=False)
        self.post_init()

    def embed(self, input_ids, token_type_ids=None, attention_mask=None, **backbone_kwargs):
        hidden = self.roots(input_ids, token_type_ids, attention_mask, **backbone_kwargs).last_hidden_state
        return F.normalize(masked_mean(hidden, attention_mask), axis=-1)

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, pair_input_ids=None,
                pair_attention_mask=None, labels=None, **backbone_kwargs):
        embeddings = self.embed(input_ids, token_type_ids, attention_mask, **backbone_kwargs)
        if pair_input_ids is None:
            return SentenceEmbeddingOutput(None, embeddings)
        others = self.embed(pair_input_ids, None, pair_attention_mask)
        if labels is not None:
            return SentenceEmbeddingOutput(cosent_loss((embeddings * others).sum(-1), labels), embeddings)
        logits = paddle.matmul(embeddings, others, transpose_y=True) / self.config.extra.get(TEMPERATURE_KEY, 0.05)
        target = paddle.arange(logits.shape[0], dtype="int64")
        loss = (token_cross_entropy(logits, target) + token_cross_entropy(logits.t(), target)) / 2
        return SentenceEmbeddingOutput(loss, embeddings)
