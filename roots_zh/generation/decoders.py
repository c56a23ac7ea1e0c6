"""Decoders for the search in ``roots_zh.generation.search``: ``start`` (encode left-padded sources,
return ``[R, V]`` log-probs), ``step`` (append one token per row) and ``reorder`` (beam rows).
:class:`PrefixLMDecoder` runs a dygraph ``RootsForPrefixLM``; :class:`StaticPrefixLMDecoder` runs the
prefill + cached step programs written by ``roots_zh.inference.export_decoder``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from ..inference.decoder import DECODER_MANIFEST
from ..inference.predictor import Predictor
from ..utils.numeric import log_softmax
from ..utils.validation import check_positive_int
from .search import GenerationConfig, greedy_tokens


def left_pad(sources: Sequence[Sequence[int]], pad_token_id: int, repeat: int = 1) -> Tuple[np.ndarray, np.ndarray]:
    """``(ids, mask)`` int64 ``[len(sources) * repeat, width]``: every row ends at the last column."""
    width = max(len(s) for s in sources)
    ids = np.full((len(sources), width), pad_token_id, dtype=np.int64)
    mask = np.zeros_like(ids)
    for i, s in enumerate(sources):
        ids[i, width - len(s):] = s
        mask[i, width - len(s):] = 1
    return np.repeat(ids, repeat, axis=0), np.repeat(mask, repeat, axis=0)


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
        logits = self.model.lm_head(last, self.projection, transposed=True)
        return log_softmax(logits.numpy().astype(np.float32, copy=False))

    def start(self, sources: Sequence[Sequence[int]], repeat: int = 1) -> np.ndarray:
        """Encode the sources (each row repeated ``repeat`` times); return ``[R, V]`` log-probs."""
        import paddle

        ids, mask = left_pad(sources, self.pad_token_id, repeat)
        # [H, V] copy of the tied output embedding, made once per generate call
        self.projection = self.model.roots.embeddings.word_embeddings.weight.t().contiguous()
        self.ids = paddle.to_tensor(ids)
        self.types = paddle.zeros_like(self.ids)
        self.mask = paddle.to_tensor(mask)
        self.prefix = self.mask
        positions = np.clip(np.cumsum(mask, axis=1) - 1, 0, None)
        self.positions = paddle.to_tensor(positions)
        self.next_position = positions[:, -1:] + 1  # numpy: a cached step builds its one tensor from it
        self.padded = bool((mask == 0).any())  # without padding a cached step needs no attention mask
        self.step_types = paddle.full([len(ids), 1], self.target_type_id, dtype="int64")
        return self._logprobs(self.ids, self.types, self.mask, self.prefix, self.positions, None)

    def step(self, tokens: np.ndarray) -> np.ndarray:
        """Append one token per row; return the next ``[R, V]`` log-probs."""
        import paddle

        new = paddle.to_tensor(np.asarray(tokens, dtype=np.int64).reshape(-1, 1))
        position = self.next_position
        self.next_position = position + 1
        if self.use_cache:  # one new query sees every cached key: no prefix mask, no mask without padding
            if self.padded:
                self.mask = paddle.concat([self.mask, paddle.ones_like(new)], axis=1)
            return self._logprobs(new, self.step_types, self.mask if self.padded else None, None,
                                  paddle.to_tensor(position), self.cache)
        ones = paddle.ones_like(new)
        self.mask = paddle.concat([self.mask, ones], axis=1)
        self.positions = paddle.concat([self.positions, paddle.to_tensor(position)], axis=1)
        self.ids = paddle.concat([self.ids, new], axis=1)
        self.types = paddle.concat([self.types, ones * self.target_type_id], axis=1)
        self.prefix = paddle.concat([self.prefix, paddle.zeros_like(new)], axis=1)
        return self._logprobs(self.ids, self.types, self.mask, self.prefix, self.positions, None)

    def reorder(self, rows: np.ndarray) -> None:
        """Keep rows ``rows`` (beam reordering along the batch axis), cache included."""
        import paddle

        index = paddle.to_tensor(np.asarray(rows, dtype=np.int64))
        pick = lambda t: paddle.index_select(t, index, axis=0)  # noqa: E731
        self.ids, self.types, self.mask = pick(self.ids), pick(self.types), pick(self.mask)
        self.prefix, self.positions = pick(self.prefix), pick(self.positions)
        self.step_types, self.next_position = pick(self.step_types), self.next_position[np.asarray(rows)]
        if self.use_cache and self.cache is not None:
            self.cache = [(pick(k), pick(v)) for k, v in self.cache]


class StaticPrefixLMDecoder:
    """The decoder interface of ``generation.search`` (``start``/``step``/``reorder``) on the exported
    prefill + cached step programs, so greedy *and* beam search (no-repeat-n-gram, length penalty…) run
    on Paddle Inference. Sources are left-padded; the cache lives in numpy between steps."""

    def __init__(self, directory: Union[str, os.PathLike], pad_token_id: int, threads: int = 2,
                 target_type_id: int = 1, precision: str = "fp32") -> None:
        directory = Path(directory)
        if not (directory / DECODER_MANIFEST).is_file():
            raise FileNotFoundError(f"{directory} holds no exported decoder ({DECODER_MANIFEST}); "
                                    f"use roots_zh.inference.export_decoder")
        self.spec = json.loads((directory / DECODER_MANIFEST).read_text())
        self.prefill = Predictor(directory / "prefill", threads=threads, precision=precision)
        self.step_program = Predictor(directory / "step", threads=threads, precision=precision)
        self.pad_token_id, self.target_type_id = pad_token_id, target_type_id

    def start(self, sources, repeat: int = 1) -> np.ndarray:
        ids, mask = left_pad(sources, self.pad_token_id, repeat)
        positions = np.clip(np.cumsum(mask, axis=1) - 1, 0, None)
        out = self.prefill.run({"input_ids": ids, "attention_mask": mask, "prefix_mask": mask,
                                "position_ids": positions, "token_type_ids": np.zeros_like(ids)})
        self.mask, self.prefix, self.next_pos, self.cache = mask, mask, positions[:, -1:] + 1, list(out[1:])
        return log_softmax(out[0])

    def step(self, tokens) -> np.ndarray:
        step_ids = np.asarray(tokens, dtype=np.int64).reshape(-1, 1)
        self.mask = np.concatenate([self.mask, np.ones_like(step_ids)], axis=1)
        self.prefix = np.concatenate([self.prefix, np.zeros_like(step_ids)], axis=1)
        feeds = {"input_ids": step_ids, "attention_mask": self.mask, "prefix_mask": self.prefix,
                 "position_ids": self.next_pos, "token_type_ids": np.full_like(step_ids, self.target_type_id)}
        feeds.update({f"past_{i}": c for i, c in enumerate(self.cache)})
        out = self.step_program.run(feeds)
        self.cache, self.next_pos = list(out[1:]), self.next_pos + 1
        return log_softmax(out[0])

    def reorder(self, rows) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        self.mask, self.prefix, self.next_pos = self.mask[rows], self.prefix[rows], self.next_pos[rows]
        self.cache = [c[rows] for c in self.cache]


class StaticGreedyDecoder(StaticPrefixLMDecoder):
    """Greedy decoding on the exported programs from id arrays; same tokens as
    ``roots_zh.generation.generate`` (sources are the masked rows of ``input_ids``)."""

    def __init__(self, directory: Union[str, os.PathLike], threads: int = 2, pad_token_id: int = 0,
                 precision: str = "fp32") -> None:
        super().__init__(directory, pad_token_id, threads=threads, precision=precision)

    def generate(self, input_ids: np.ndarray, attention_mask: Optional[np.ndarray] = None,
                 max_new_tokens: int = 32, eos_token_id: Optional[int] = None) -> np.ndarray:
        """``[B, <=max_new_tokens]`` int64 ids (after ``eos``, rows hold ``eos``)."""
        check_positive_int(max_new_tokens, "max_new_tokens")
        if not isinstance(input_ids, np.ndarray) or input_ids.ndim != 2:
            raise ValueError("`input_ids` must be a [batch, seq_len] numpy array")
        mask = np.ones_like(input_ids, dtype=bool) if attention_mask is None else attention_mask.astype(bool)
        if input_ids.shape[1] + max_new_tokens > self.spec["max_positions"]:
            raise ValueError(f"source + max_new_tokens exceeds max_position_embeddings={self.spec['max_positions']}")
        sources = [row[keep] for row, keep in zip(input_ids, mask)]
        return greedy_tokens(self, sources, eos_token_id, GenerationConfig(max_new_tokens=max_new_tokens))
