"""Decoding for ``RootsForPrefixLM``: greedy and beam search with the key/value cache.

The model side is a small :class:`PrefixLMDecoder` (``start`` / ``step`` / ``reorder``); the search
side works on numpy log-probabilities, so any object with that interface can be decoded (tests use
a hand-made one). Beam search follows HF transformers: hypotheses are ranked by
``sum_logprobs / length ** length_penalty`` where ``length`` counts the generated tokens (eos
included); with ``early_stopping=True`` an example stops once it holds ``num_beams`` finished
hypotheses, so ``num_beams=1`` is exactly greedy search.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np
from ..utils.numeric import log_softmax

NEG_INF = -1e9


@dataclass
class GenerationConfig:
    """Decoding settings; every field is checked by :meth:`validate`."""

    max_new_tokens: int = 64  # generated tokens, eos included
    min_length: int = 0  # eos is forbidden before this many generated tokens
    num_beams: int = 1  # 1 = greedy
    length_penalty: float = 1.0  # beam score = sum_logprobs / length ** length_penalty
    no_repeat_ngram_size: int = 0  # 0 = off; n forbids any n-gram from occurring twice
    early_stopping: bool = True  # stop an example at num_beams finished hypotheses

    def validate(self) -> "GenerationConfig":
        for name in ("max_new_tokens", "num_beams"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"`{name}` must be a positive int, got {value!r}")
        for name in ("min_length", "no_repeat_ngram_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"`{name}` must be a non-negative int, got {value!r}")
        if isinstance(self.length_penalty, bool) or not isinstance(self.length_penalty, (int, float)):
            raise ValueError(f"`length_penalty` must be a number, got {self.length_penalty!r}")
        return self

    def to_dict(self) -> Dict[str, object]:
        return asdict(self)


# ------------------------------------------------------------------------------------ model side
class PrefixLMDecoder:
    """Runs ``RootsForPrefixLM`` one step at a time on left-padded sources.

    ``use_cache=False`` re-encodes the whole sequence every step (the reference the cache must match).
    """

    def __init__(self, model, pad_token_id: int, use_cache: bool = True, target_type_id: int = 1) -> None:
        self.model, self.pad_token_id = model, pad_token_id
        self.use_cache, self.target_type_id = use_cache, target_type_id

    def _logprobs(self, ids, type_ids, attention_mask, prefix_mask, position_ids, cache) -> np.ndarray:
        out = self.model.roots(ids, type_ids, attention_mask, position_ids=position_ids, mode="prefix",
                               prefix_mask=prefix_mask, past_key_values=cache, use_cache=self.use_cache)
        self.cache = out.past_key_values
        last = out.last_hidden_state[:, -1]  # (R, H)
        logits = self.model.lm_head(last, self.model.roots.embeddings.word_embeddings.weight)
        return log_softmax(logits.astype("float32").numpy())

    def start(self, sources: Sequence[Sequence[int]], repeat: int = 1) -> np.ndarray:
        """Encode the sources (each row repeated ``repeat`` times); return ``[R, V]`` log-probs."""
        import paddle

        width = max(len(s) for s in sources)
        ids = np.full((len(sources), width), self.pad_token_id, dtype=np.int64)
        mask = np.zeros_like(ids)
        for i, s in enumerate(sources):  # left padding: every row ends at the last column
            ids[i, width - len(s):] = s
            mask[i, width - len(s):] = 1
        ids, mask = np.repeat(ids, repeat, axis=0), np.repeat(mask, repeat, axis=0)
        self.ids = paddle.to_tensor(ids)
        self.types = paddle.zeros_like(self.ids)
        self.mask = paddle.to_tensor(mask)
        self.prefix = self.mask
        self.positions = paddle.clip(paddle.cumsum(self.mask, axis=1) - 1, min=0)
        return self._logprobs(self.ids, self.types, self.mask, self.prefix, self.positions, None)

    def step(self, tokens: np.ndarray) -> np.ndarray:
        """Append one token per row; return the next ``[R, V]`` log-probs."""
        import paddle

        new = paddle.to_tensor(np.asarray(tokens, dtype=np.int64).reshape(-1, 1))
        ones = paddle.ones_like(new)
        self.ids = paddle.concat([self.ids, new], axis=1)
        self.types = paddle.concat([self.types, ones * self.target_type_id], axis=1)
        self.mask = paddle.concat([self.mask, ones], axis=1)
        self.prefix = paddle.concat([self.prefix, paddle.zeros_like(new)], axis=1)
        self.positions = paddle.concat([self.positions, self.positions[:, -1:] + 1], axis=1)
        if self.use_cache:
            return self._logprobs(new, self.types[:, -1:], self.mask, self.prefix, self.positions[:, -1:],
                                  self.cache)
        return self._logprobs(self.ids, self.types, self.mask, self.prefix, self.positions, None)

    def reorder(self, rows: np.ndarray) -> None:
        """Keep rows ``rows`` (beam reordering along the batch axis), cache included."""
        import paddle

        index = paddle.to_tensor(np.asarray(rows, dtype=np.int64))
        pick = lambda t: paddle.index_select(t, index, axis=0)  # noqa: E731
        self.ids, self.types, self.mask = pick(self.ids), pick(self.types), pick(self.mask)
        self.prefix, self.positions = pick(self.prefix), pick(self.positions)
        if self.use_cache and self.cache is not None:
            self.cache = [(pick(k), pick(v)) for k, v in self.cache]


# ------------------------------------------------------------------------------------ search side
def _process(logp: np.ndarray, generated: np.ndarray, config: GenerationConfig, eos: int) -> np.ndarray:
    """Apply min_length and no_repeat_ngram_size to ``[R, V]`` log-probs (in place)."""
    step = generated.shape[1]
    if step < config.min_length:
        logp[:, eos] = NEG_INF
    n = config.no_repeat_ngram_size
    if n and step >= n - 1:
        for r in range(generated.shape[0]):
            row = generated[r].tolist()
            prefix = tuple(row[step - n + 1:]) if n > 1 else ()
            banned = {row[i + n - 1] for i in range(step - n + 1) if tuple(row[i:i + n - 1]) == prefix}
            if banned:
                logp[r, list(banned)] = NEG_INF
    return logp


def greedy_search(decoder, sources: Sequence[Sequence[int]], eos_token_id: int,
                  config: GenerationConfig) -> List[List[int]]:
    """Greedy decoding; returns one token list per source, without the eos."""
    logp = decoder.start(sources)
    batch = len(sources)
    generated = np.zeros((batch, 0), dtype=np.int64)
    done = np.zeros(batch, dtype=bool)
    for t in range(config.max_new_tokens):
        logp = _process(logp, generated, config, eos_token_id)
        token = logp.argmax(-1)
        token[done] = eos_token_id
        generated = np.concatenate([generated, token[:, None]], axis=1)
        done |= token == eos_token_id
        if done.all() or t == config.max_new_tokens - 1:
            break
        logp = decoder.step(token)
    return [_strip(row, eos_token_id) for row in generated]


def _strip(row: np.ndarray, eos: int) -> List[int]:
    out = row.tolist()
    return out[:out.index(eos)] if eos in out else out


def beam_search(decoder, sources: Sequence[Sequence[int]], eos_token_id: int,
                config: GenerationConfig) -> List[List[int]]:
    """Batched beam search (``config.num_beams`` beams per source); best hypothesis per source."""
    k, alpha = config.num_beams, float(config.length_penalty)
    batch = len(sources)
    logp = decoder.start(sources, repeat=k)
    vocab = logp.shape[1]
    if 2 * k > vocab:
        raise ValueError(f"`num_beams`={k} is too large for a vocabulary of {vocab}")
    beam_scores = np.zeros((batch, k), dtype=np.float64)
    beam_scores[:, 1:] = NEG_INF  # at step 0 all beams are the same: expand beam 0 only
    generated = np.zeros((batch * k, 0), dtype=np.int64)
    finished: List[List[tuple]] = [[] for _ in range(batch)]  # (normalised score, tokens)
    done = np.zeros(batch, dtype=bool)
    for t in range(config.max_new_tokens):
        logp = _process(logp, generated, config, eos_token_id)
        cand = (beam_scores.reshape(-1, 1) + logp).reshape(batch, k * vocab)
        top = np.argpartition(-cand, 2 * k - 1, axis=1)[:, :2 * k]
        next_scores = np.zeros((batch, k))
        next_tokens = np.full((batch, k), eos_token_id, dtype=np.int64)
        next_rows = np.repeat(np.arange(batch)[:, None] * k, k, axis=1)
        for b in range(batch):
            if done[b]:
                continue
            order = top[b][np.lexsort((top[b], -cand[b, top[b]]))]  # best first, ties by index
            j = 0
            for rank, flat in enumerate(order):
                beam, token = divmod(int(flat), vocab)
                score = float(cand[b, flat])
                if token == eos_token_id:
                    if rank < k:
                        finished[b].append((score / (t + 1) ** alpha, generated[b * k + beam].tolist()))
                else:
                    next_scores[b, j], next_tokens[b, j], next_rows[b, j] = score, token, b * k + beam
                    j += 1
                if j == k:
                    break
            if len(finished[b]) >= k:
                finished[b] = sorted(finished[b], key=lambda h: -h[0])[:k]
                best_running = next_scores[b].max() / (t + 1) ** alpha
                done[b] = config.early_stopping or finished[b][-1][0] >= best_running
        rows = next_rows.reshape(-1)
        generated = np.concatenate([generated[rows], next_tokens.reshape(-1, 1)], axis=1)
        beam_scores = next_scores
        if done.all() or t == config.max_new_tokens - 1:
            break
        decoder.reorder(rows)
        logp = decoder.step(next_tokens.reshape(-1))
    for b in range(batch):  # sources still running at max length: their beams are hypotheses too
        if not done[b]:
            length = generated.shape[1]
            for j in range(k):
                finished[b].append((beam_scores[b, j] / length ** alpha, generated[b * k + j].tolist()))
    return [max(hyps, key=lambda h: h[0])[1] if hyps else [] for hyps in finished]


def generate(model, sources: Sequence[Sequence[int]], eos_token_id: int, pad_token_id: int,
             config: Optional[GenerationConfig] = None, use_cache: bool = True, decoder=None) -> List[List[int]]:
    """Decode target token ids (eos stripped) for source id lists with a ``RootsForPrefixLM``, or with
    ``decoder`` (e.g. ``roots_zh.inference.StaticPrefixLMDecoder``: exported programs; ``model`` may be
    its config then). Greedy and beam search, with every option, run the same on both."""
    config = (config or GenerationConfig()).validate()
    if not sources:
        return []
    for i, s in enumerate(sources):
        if len(s) == 0:
            raise ValueError(f"`sources[{i}]` is empty; it needs at least one token")
    longest = max(len(s) for s in sources)
    limit = getattr(model, "config", model).max_position_embeddings
    if longest + config.max_new_tokens > limit:
        raise ValueError(f"source length {longest} + `max_new_tokens`={config.max_new_tokens} exceeds "
                         f"max_position_embeddings={limit}; truncate the source")
    search = greedy_search if config.num_beams == 1 else beam_search
    if decoder is not None:
        return search(decoder, sources, eos_token_id, config)
    decoder = PrefixLMDecoder(model, pad_token_id, use_cache=use_cache)
    from ..modeling.runtime import eval_no_grad

    with eval_no_grad(model):
        return search(decoder, sources, eos_token_id, config)
