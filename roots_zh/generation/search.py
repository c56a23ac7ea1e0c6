"""Search for ``RootsForPrefixLM``: the one greedy loop and the one beam search.

A decoder (``roots_zh.generation.decoders``: dygraph or exported programs) has ``start`` / ``step`` /
``reorder``; the search works on numpy log-probabilities, so any object with that interface can be decoded (tests use
a hand-made one). Beam search follows HF transformers: hypotheses are ranked by
``sum_logprobs / length ** length_penalty`` where ``length`` counts the generated tokens (eos
included); with ``early_stopping=True`` an example stops once it holds ``num_beams`` finished
hypotheses, so ``num_beams=1`` is exactly greedy search.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np

NEG_INF = -1e9


@dataclass
class GenerationConfig:
    """Decoding settings; every field is checked by :meth:`validate`."""

    max_new_tokens: int = 64  # generated tokens, eos included
    min_length: int = 0  # eos is forbidden before this many generated tokens
    num_beams: int = 1  # 1 = greedy
    length_penalty: float = 1.0  # beam score = sum_logprobs / length ** length_penalty
    no_repeat_ngram_size: int = 0  # 0 = off; n forbids any n-gram occurring twice, and a token 3 times in a row
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


# ------------------------------------------------------------------------------------ search side
def _process(logp: np.ndarray, generated: np.ndarray, config: GenerationConfig, eos: int) -> np.ndarray:
    """Apply min_length and no_repeat_ngram_size (no repeated n-gram, no token three times in a row)
    to ``[R, V]`` log-probs (in place)."""
    step = generated.shape[1]
    if step < config.min_length and eos >= 0:
        logp[:, eos] = NEG_INF
    n = config.no_repeat_ngram_size
    if n and step >= n - 1:
        for r in range(generated.shape[0]):
            row = generated[r].tolist()
            prefix = tuple(row[step - n + 1:]) if n > 1 else ()
            banned = {row[i + n - 1] for i in range(step - n + 1) if tuple(row[i:i + n - 1]) == prefix}
            if step >= 2 and row[-1] == row[-2] and row[-1] != eos:  # "x x" may not become "x x x"
                banned.add(row[-1])
            if banned:
                logp[r, list(banned)] = NEG_INF
    return logp


def greedy_tokens(decoder, sources: Sequence[Sequence[int]], eos_token_id: Optional[int],
                  config: GenerationConfig) -> np.ndarray:
    """The greedy loop: ``[B, <=max_new_tokens]`` ids, rows hold ``eos`` after their ``eos``
    (``eos_token_id=None``: no eos, every row runs ``max_new_tokens``)."""
    eos = -1 if eos_token_id is None else eos_token_id
    logp = decoder.start(sources)
    batch = len(sources)
    generated = np.zeros((batch, 0), dtype=np.int64)
    done = np.zeros(batch, dtype=bool)
    for t in range(config.max_new_tokens):
        logp = _process(logp, generated, config, eos)
        token = logp.argmax(-1).astype(np.int64)
        token[done] = eos
        generated = np.concatenate([generated, token[:, None]], axis=1)
        done |= token == eos
        if done.all() or t == config.max_new_tokens - 1:
            break
        logp = decoder.step(token)
    return generated


def greedy_search(decoder, sources: Sequence[Sequence[int]], eos_token_id: Optional[int],
                  config: GenerationConfig) -> List[List[int]]:
    """Greedy decoding; returns one token list per source, without the eos."""
    return [_strip(row, eos_token_id) for row in greedy_tokens(decoder, sources, eos_token_id, config)]


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


def generate(model, sources: Sequence[Sequence[int]], eos_token_id: Optional[int], pad_token_id: int,
             config: Optional[GenerationConfig] = None, use_cache: bool = True, decoder=None) -> List[List[int]]:
    """Decode target token ids (eos stripped) for source id lists with a ``RootsForPrefixLM``, or with
    ``decoder`` (e.g. ``roots_zh.generation.StaticPrefixLMDecoder``: exported programs; ``model`` may be
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
    from ..modeling.runtime import eval_no_grad
    from .decoders import PrefixLMDecoder

    with eval_no_grad(model):
        return search(PrefixLMDecoder(model, pad_token_id, use_cache=use_cache), sources, eos_token_id, config)
