"""Transformer blocks of ROOTS: embeddings, the only attention code (with a key/value cache), FFN.

Post-LN, GELU and learned positions, as BERT/ERNIE, so their checkpoints load unchanged;
``config.pre_layer_norm`` switches the blocks to Pre-LN (plus one final LayerNorm).
Every block is built from the config alone.
"""
from __future__ import annotations

from typing import Optional, Tuple

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from .config import RootsConfig
from .fast_linear import Linear, linear

KVCache = Tuple[paddle.Tensor, paddle.Tensor]


def dropout(layer: nn.Dropout, x):
    """``layer(x)`` in training; ``x`` itself otherwise (no op call per token when decoding)."""
    return layer(x) if layer.training and layer.p > 0 else x


def activation(name: str):
    if name == "gelu":
        return F.gelu
    if name in ("gelu_new", "gelu_approximate"):
        return lambda x: F.gelu(x, approximate=True)
    if name == "relu":
        return F.relu
    raise ValueError(f"unknown activation {name!r}")


class RootsEmbeddings(nn.Layer):
    """word + learned position + token type (+ ERNIE-3.0 task type) embeddings, LayerNorm, dropout."""

    def __init__(self, config: RootsConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.task_type_embeddings = (
            nn.Embedding(config.task_type_vocab_size, config.hidden_size) if config.use_task_id else None)
        self.task_id = config.task_id
        self.layer_norm = nn.LayerNorm(config.hidden_size, epsilon=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids, token_type_ids=None, position_ids=None, task_type_ids=None,
                past_length=0):
        if position_ids is None:
            # From shape ops, not Python ints, so exported graphs keep a dynamic sequence axis.
            seq_len = paddle.shape(input_ids)[1]
            position_ids = paddle.arange(seq_len, dtype="int64").unsqueeze(0) + past_length
        if token_type_ids is None:
            token_type_ids = paddle.zeros_like(input_ids)
        x = (self.word_embeddings(input_ids) + self.position_embeddings(position_ids)
             + self.token_type_embeddings(token_type_ids))
        if self.task_type_embeddings is not None:
            if task_type_ids is None:
                task_type_ids = paddle.full_like(input_ids, self.task_id)
            x = x + self.task_type_embeddings(task_type_ids)
        return dropout(self.dropout, self.layer_norm(x))


class RootsAttention(nn.Layer):
    """Multi-head self-attention with one fused qkv projection and an optional kv cache."""

    def __init__(self, config: RootsConfig) -> None:
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_dim = config.head_dim
        self.qkv = Linear(config.hidden_size, 3 * config.hidden_size)
        self.out = Linear(config.hidden_size, config.hidden_size)
        self.attn_dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def forward(self, x, bias, cache: Optional[KVCache] = None, batch=None, seq=None
                ) -> Tuple[paddle.Tensor, KVCache]:
        """``x`` ``[B * S, H]`` with ``batch``/``seq`` given (the encoder's eager, flat stream: no reshape
        around each projection, no shape ops), or ``[B, S, H]`` (traced graphs: symbolic axes); the output
        has the shape of ``x``."""
        flat = x.ndim == 2
        if not flat:
            batch, seq = paddle.shape(x)[0], paddle.shape(x)[1]
        qkv = self.qkv(x).reshape([batch, seq, 3, self.num_heads, self.head_dim])  # (B, S, 3, nh, hd)
        # unbind, not qkv[0..2]: three slice grads each wrote a zeroed full-size tensor (attention
        # fwd+bwd 220 -> 160 ms at 32x128 on 2 cores); the scale goes on q, the smaller tensor
        q, k, v = (t.transpose([0, 2, 1, 3]) for t in paddle.unbind(qkv, axis=2))  # (B, nh, S, hd)
        if cache is not None:
            k = paddle.concat([cache[0], k], axis=2)  # (B, nh, past+S, hd)
            v = paddle.concat([cache[1], v], axis=2)
        scores = paddle.matmul(q * (self.head_dim ** -0.5), k, transpose_y=True)  # (B, nh, S, K)
        if bias is not None:
            scores = scores + bias
        probs = dropout(self.attn_dropout, F.softmax(scores, axis=-1))
        ctx = paddle.matmul(probs, v).transpose([0, 2, 1, 3])  # (B, S, nh, hd)
        ctx = ctx.reshape([-1, self.num_heads * self.head_dim] if flat
                          else [batch, seq, self.num_heads * self.head_dim])
        return self.out(ctx), (k, v)


class RootsFFN(nn.Layer):
    def __init__(self, config: RootsConfig) -> None:
        super().__init__()
        self.fc1 = Linear(config.hidden_size, config.intermediate_size)
        self.fc2 = Linear(config.intermediate_size, config.hidden_size)
        self.act = activation(config.hidden_act)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class RootsLayer(nn.Layer):
    """Post-LN block: x = LN(x + Attn(x)); x = LN(x + FFN(x)).
    Pre-LN block (``config.pre_layer_norm``): x = x + Attn(LN(x)); x = x + FFN(LN(x))."""

    def __init__(self, config: RootsConfig) -> None:
        super().__init__()
        self.attention = RootsAttention(config)
        self.attention_norm = nn.LayerNorm(config.hidden_size, epsilon=config.layer_norm_eps)
        self.ffn = RootsFFN(config)
        self.ffn_norm = nn.LayerNorm(config.hidden_size, epsilon=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.pre_layer_norm = config.pre_layer_norm

    def forward(self, x, bias, cache: Optional[KVCache] = None, batch=None, seq=None):
        """``x`` ``[B, S, H]``, or the flat ``[B * S, H]`` with ``batch``/``seq`` (see RootsAttention)."""
        if self.pre_layer_norm:
            attn_out, new_cache = self.attention(self.attention_norm(x), bias, cache, batch, seq)
            x = x + dropout(self.dropout, attn_out)
            return x + dropout(self.dropout, self.ffn(self.ffn_norm(x))), new_cache
        attn_out, new_cache = self.attention(x, bias, cache, batch, seq)
        x = self.attention_norm(x + dropout(self.dropout, attn_out))
        x = self.ffn_norm(x + dropout(self.dropout, self.ffn(x)))
        return x, new_cache


class RootsEncoder(nn.Layer):
    def __init__(self, config: RootsConfig) -> None:
        super().__init__()
        self.layers = nn.LayerList([RootsLayer(config) for _ in range(config.num_hidden_layers)])
        # Pre-LN leaves the residual stream unnormalised: one LayerNorm closes the stack
        self.final_norm = (nn.LayerNorm(config.hidden_size, epsilon=config.layer_norm_eps)
                           if config.pre_layer_norm else None)

    def forward(self, x, bias, past_key_values=None, use_cache=False, output_hidden_states=False):
        """``x`` ``[B, S, H]``. Eager calls run the layers on the flat ``[B * S, H]`` stream (one reshape
        in, one out, instead of two around every projection: a decoding step is mostly per-op overhead);
        traced graphs keep ``[B, S, H]`` (oneDNN's bf16 fuse passes mis-shape the flat one)."""
        flat = paddle.in_dynamic_mode()
        batch, seq, hidden = x.shape
        h = x.reshape([-1, hidden]) if flat else x
        unflat = (lambda t: t.reshape([batch, seq, hidden])) if flat else (lambda t: t)  # noqa: E731
        hidden_states = [x] if output_hidden_states else None
        new_caches = [] if use_cache else None
        for i, layer in enumerate(self.layers):
            cache = past_key_values[i] if past_key_values is not None else None
            h, new_cache = layer(h, bias, cache, batch, seq)  # batch/seq: used by the flat stream only
            if self.final_norm is not None and i == len(self.layers) - 1:
                h = self.final_norm(h)
            if use_cache:
                new_caches.append(new_cache)
            if output_hidden_states:
                hidden_states.append(unflat(h))
        return unflat(h), hidden_states, new_caches


class RootsPooler(nn.Layer):
    """tanh(dense(h[CLS])), as BERT."""

    def __init__(self, config: RootsConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden):
        return paddle.tanh(self.dense(hidden[:, 0]))


class RootsLMHead(nn.Layer):
    """dense + act + LayerNorm, then a decoder tied to the word embeddings (weight passed in)."""

    def __init__(self, config: RootsConfig) -> None:
        super().__init__()
        self.transform = Linear(config.hidden_size, config.hidden_size)
        self.act = activation(config.hidden_act)
        self.layer_norm = nn.LayerNorm(config.hidden_size, epsilon=config.layer_norm_eps)
        self.decoder_bias = self.create_parameter(
            [config.vocab_size], is_bias=True, default_initializer=nn.initializer.Constant(0.0))

    def forward(self, hidden, word_embeddings, transposed: bool = False):
        """``word_embeddings`` ``[V, H]``; or ``[H, V]`` with ``transposed=True`` (a decoder keeps that
        copy: a ``[1, H] x [H, V]`` product is about twice as fast as the transposed one)."""
        h = self.layer_norm(self.act(self.transform(hidden)))
        if transposed:
            return linear(h, word_embeddings, self.decoder_bias, training=self.training)
        return linear(h, word_embeddings, self.decoder_bias, transpose_weight=True, training=self.training)
