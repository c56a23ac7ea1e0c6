"""`Seq2SeqPipeline`: the shared fine-tune / generate / evaluate / save logic of `Summarizer` and
`Translator` on the prefix-LM mode of the ROOTS encoder.

Layout of one example: ``[CLS] source [SEP]`` (token type 0, bidirectional) then ``target [SEP]``
(token type 1, causal; the final ``[SEP]`` is the end-of-target token). The loss covers the target
tokens only, and the vocabulary projection is computed on those positions only.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import paddle
import paddle.nn as nn

from ..modeling.heads import token_cross_entropy
from ..modeling.masks import IGNORE_INDEX
from ..modeling.outputs import PrefixLMOutput
from ..tokenization.normalize import normalize
from ..utils.env import GENERATION_BACKENDS
from ..utils.validation import check_choice, check_positive_int, check_texts
from ..data.collate import sorted_batches
from .base import Pipeline
from ..generation.search import GenerationConfig, generate

logger = logging.getLogger(__name__)
PIPELINE_CONFIG = "seq2seq_config.json"


class TargetOnlyLoss(nn.Layer):
    """Training view of a ``RootsForPrefixLM``: same forward inputs, but the LM head runs only on
    positions that predict a target token (p predicts p+1), which is most of the cost saved."""

    def __init__(self, model) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids, token_type_ids, attention_mask, labels):
        prefix_mask = (token_type_ids == 0).astype("int64") * attention_mask.astype("int64")
        hidden = self.model.roots(input_ids, token_type_ids, attention_mask, mode="prefix",
                                  prefix_mask=prefix_mask).last_hidden_state
        width = hidden.shape[-1]
        targets = labels[:, 1:].reshape([-1])
        rows = paddle.nonzero(targets != IGNORE_INDEX).reshape([-1])  # flat (B*(S-1)) indices
        picked = paddle.gather(hidden[:, :-1].reshape([-1, width]), rows)
        logits = self.model.lm_head(picked, self.model.roots.embeddings.word_embeddings.weight)
        loss = token_cross_entropy(logits, paddle.gather(targets, rows))
        return PrefixLMOutput(loss, logits, None)  # logits of the target positions only

    def save_pretrained(self, directory, dtype: Optional[str] = None) -> Path:
        return self.model.save_pretrained(directory, dtype=dtype)


class Seq2SeqPipeline(Pipeline):
    """Base of the generation pipelines. Subclasses set the names below and :meth:`_score`."""

    source_field = "source"
    output_field = "output"
    main_metric = "rougeL"
    SETTINGS_FILE = PIPELINE_CONFIG
    BACKENDS = GENERATION_BACKENDS  # no ONNX decoder

    def __init__(self, model, tokenizer, max_source_length: int = 256, max_target_length: int = 64,
                 generation: Optional[GenerationConfig] = None, base_model: Optional[str] = None) -> None:
        """``model``: a ``RootsForPrefixLM``, or only its ``RootsConfig`` when decoding runs on an exported
        decoder (``from_pretrained(..., backend="inference")`` sets ``static_decoder``). ``base_model``:
        what an adapter trained on this pipeline builds on (``from_pretrained`` sets it)."""
        from ..modeling import RootsConfig

        if isinstance(model, RootsConfig):  # an exported decoder runs it: no model, no encoder backend
            self.model, self.tokenizer, self.config, self.backend = None, tokenizer, model, None
            self.base_model = base_model
        else:
            super().__init__(model, tokenizer, base_model=base_model)
        self.static_decoder = None
        self.max_source_length = check_positive_int(max_source_length, "max_source_length")
        self.max_target_length = check_positive_int(max_target_length, "max_target_length")
        if self.max_source_length < 3:
            raise ValueError(f"`max_source_length` must be >= 3 ([CLS] text [SEP]), got {max_source_length}")
        limit = self.config.max_position_embeddings
        if self.max_source_length + self.max_target_length > limit:
            raise ValueError(f"`max_source_length` + `max_target_length` = "
                             f"{self.max_source_length + self.max_target_length} exceeds the model's "
                             f"max_position_embeddings={limit}")
        self.generation = (generation or GenerationConfig(max_new_tokens=self.max_target_length)).validate()
        self.eos_token_id = tokenizer.sep_token_id

    # ------------------------------------------------------------------ construction / saving
    def _extra_config(self) -> Dict[str, Any]:
        return {}

    @classmethod
    def from_pretrained(cls, name_or_dir: Union[str, os.PathLike] = "roots-base", backend: str = "dygraph",
                        threads: int = 2, normalize: Any = None, precision: str = "fp32", **kwargs: Any):
        """A registered name or directory; settings saved by :meth:`save_pretrained` are reused
        unless given in ``kwargs`` (``max_source_length``, ``max_target_length``, ``generation``…).
        ``backend="inference"``: a directory written by :meth:`export` (prefill + cached step programs);
        ``precision``: ``Predictor``'s; ``"auto"`` is fp32 here: bf16 decoding ran 2.3x *slower* (16
        sentences, batch of small step programs: oneDNN's bf16 conversions cost more than the math saves).
        ``normalize``: input normalisation preset (``"auto"``: traditional script through OpenCC t2s)."""
        from ..modeling import RootsForPrefixLM

        check_choice(backend, "backend", cls.BACKENDS)

        # the tokenizer start-up of every pipeline; the decoder backend is opened below
        directory, tokenizer, _, _ = cls.open_pipeline(name_or_dir, "dygraph", {}, normalize=normalize)
        saved = cls.saved_settings(directory)
        saved.pop("pipeline", None)
        settings = {**saved, **kwargs}
        if isinstance(settings.get("generation"), dict):
            settings["generation"] = GenerationConfig(**settings["generation"])
        if backend == "inference":
            from ..generation.decoders import StaticPrefixLMDecoder
            from ..modeling import RootsConfig

            pipeline = cls(RootsConfig.from_pretrained(directory), tokenizer, **settings)
            precision = "fp32" if precision == "auto" else precision
            pipeline.static_decoder = StaticPrefixLMDecoder(directory, tokenizer.pad_token_id, threads=threads,
                                                            precision=precision)
            return pipeline
        if precision not in ("fp32", "auto"):
            raise ValueError("`precision` applies to backend='inference'")
        return cls(RootsForPrefixLM.from_pretrained(directory), tokenizer, **settings, base_model=str(name_or_dir))

    def _export_files(self, directory: Union[str, os.PathLike]) -> Path:
        """Exported prefill + cached decoder step (Paddle Inference); with the tokenizer and the pipeline
        settings, ``from_pretrained(directory, backend="inference")`` loads it."""
        from ..inference.decoder import export_decoder

        return export_decoder(self.model, directory, self.tokenizer)

    def pipeline_settings(self) -> Dict[str, Any]:
        """``seq2seq_config.json``: lengths, decoding settings, task options (saved and exported)."""
        return {"pipeline": type(self).__name__, "max_source_length": self.max_source_length,
                "max_target_length": self.max_target_length, "generation": self.generation.to_dict(),
                **self._extra_config()}

    # ------------------------------------------------------------------ encoding
    def encode_sources(self, texts: List[str]) -> Tuple[List[List[int]], List[bool]]:
        """``[CLS] text [SEP]`` ids, truncated to ``max_source_length``; and a truncation flag each."""
        full_budget = self.max_source_length + 1
        ids = self.tokenizer(texts, max_length=full_budget, truncation=True)["input_ids"] if texts else []
        flags = [len(row) > self.max_source_length for row in ids]
        ids = [row if not cut else row[:self.max_source_length - 1] + [self.eos_token_id]
               for row, cut in zip(ids, flags)]
        if any(flags):
            logger.warning("%d of %d inputs truncated to max_source_length=%d tokens",
                           sum(flags), len(texts), self.max_source_length)
        return ids, flags

    def encode_pairs(self, sources: List[str], targets: List[str]) -> List[Dict[str, List[int]]]:
        """Training features: ids, token types (0 source / 1 target), mask, labels on the target."""
        src_ids, _ = self.encode_sources(sources)
        tgt_ids = self.tokenizer(targets, add_special_tokens=False)["input_ids"] if targets else []
        features = []
        for src, tgt in zip(src_ids, tgt_ids):
            tgt = tgt[:self.max_target_length - 1] + [self.eos_token_id]
            features.append({"input_ids": src + tgt, "token_type_ids": [0] * len(src) + [1] * len(tgt),
                             "attention_mask": [1] * (len(src) + len(tgt)),
                             "labels": [IGNORE_INDEX] * len(src) + tgt})
        return features

    # ------------------------------------------------------------------ train / evaluate
    def _check_pairs(self, sources: Any, targets: Any, field: str = "sources") -> Tuple[List[str], List[str]]:
        sources, _ = check_texts(sources, field)
        tfield = field.replace("sources", "targets")
        targets, _ = check_texts(targets, tfield)
        if len(sources) != len(targets):
            raise ValueError(f"`{tfield}` has {len(targets)} items but `{field}` has {len(sources)}")
        for i, t in enumerate(targets):
            if not t.strip():
                raise ValueError(f"`{tfield}[{i}]` is empty or whitespace only")
        return sources, targets

    def fit(self, sources: Sequence[str], targets: Sequence[str], eval_sources: Optional[Sequence[str]] = None,
            eval_targets: Optional[Sequence[str]] = None, **training_args: Any) -> dict:
        """Fine-tune with the prefix-LM loss on the target; ``training_args`` are ``TrainingArgs``
        fields. With an eval set, greedy-decoded ``main_metric`` picks the best checkpoint."""
        from ..training.trainer import Trainer, TrainingArgs

        sources, targets = self._check_pairs(sources, targets)
        if not sources:
            raise ValueError("`sources` is empty: nothing to train on")
        evaluate_fn = None
        if eval_sources is not None:
            ev_s, ev_t = self._check_pairs(eval_sources, eval_targets, "eval_sources")
            evaluate_fn = lambda _model: self.evaluate(ev_s, ev_t, num_beams=1)  # noqa: E731
        training_args.setdefault("metric", self.main_metric)
        features = self.encode_pairs(sources, targets)
        pad = {"input_ids": self.tokenizer.pad_token_id, "labels": IGNORE_INDEX}
        from .adapter_support import enable_adapter

        self.require_model("fit")
        enable_adapter(self.model, training_args.pop("adapter", None))  # None | "lora" | "frozen_embeddings"
        trainer = Trainer(TargetOnlyLoss(self.model), TrainingArgs(**training_args), features, evaluate_fn, pad)
        summary = trainer.train()
        self.model.eval()
        return summary

    def loss(self, sources: Sequence[str], targets: Sequence[str], batch_size: int = 32) -> float:
        """Mean per-token target cross-entropy (teacher forcing) over the pairs."""
        from ..data.collate import pad_batch

        sources, targets = self._check_pairs(sources, targets)
        features = self.encode_pairs(sources, targets)
        self.require_model("loss")
        view = TargetOnlyLoss(self.model)
        from ..modeling.runtime import eval_no_grad

        total, count = 0.0, 0
        with eval_no_grad(self.model):
            for start in range(0, len(features), batch_size):
                chunk = features[start:start + batch_size]
                batch = pad_batch(chunk, {"input_ids": self.tokenizer.pad_token_id, "labels": IGNORE_INDEX})
                n = sum(sum(1 for x in f["labels"] if x != IGNORE_INDEX) for f in chunk)
                total += float(view(**{k: paddle.to_tensor(v) for k, v in batch.items()}).loss) * n
                count += n
        return total / max(count, 1)

    def _score(self, hypotheses: List[str], references: List[str]) -> Dict[str, float]:
        raise NotImplementedError

    def evaluate(self, sources: Sequence[str], targets: Sequence[str], batch_size: int = 32,
                 **generation: Any) -> Dict[str, float]:
        """Generate for ``sources`` and score against ``targets`` (references pass through the
        tokenizer's normaliser, as the outputs do, so full/half-width forms compare equal)."""
        sources, targets = self._check_pairs(sources, targets)
        outputs = self.generate_texts(sources, batch_size, **generation)[0]
        return self._score(outputs, [normalize(t).strip() for t in targets])

    # ------------------------------------------------------------------ generate / predict
    def _generation_config(self, overrides: Dict[str, Any]) -> GenerationConfig:
        known = set(GenerationConfig.__dataclass_fields__)
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise TypeError(f"unknown generation options {unknown}; valid: {sorted(known)}")
        return GenerationConfig(**{**self.generation.to_dict(), **overrides}).validate()

    def generate_texts(self, texts: List[str], batch_size: int = 32,
                       **generation: Any) -> Tuple[List[str], List[bool]]:
        """Outputs and truncation flags for a list of str (batches sorted by length)."""
        check_positive_int(batch_size, "batch_size")
        config = self._generation_config(generation)
        limit = self.config.max_position_embeddings - self.max_source_length
        if config.max_new_tokens > limit:
            raise ValueError(f"`max_new_tokens`={config.max_new_tokens} exceeds {limit} "
                             f"(max_position_embeddings - max_source_length)")
        ids, flags = self.encode_sources(texts)
        outputs: List[str] = [""] * len(texts)
        for idx in sorted_batches([len(s) for s in ids], batch_size):
            tokens = generate(self.model if self.model is not None else self.config, [ids[i] for i in idx],
                              self.eos_token_id, self.tokenizer.pad_token_id, config, decoder=self.static_decoder)
            for i, row in zip(idx, tokens):
                outputs[i] = self.tokenizer.decode(row, skip_special_tokens=True).strip()
        return outputs, flags

    def predict(self, texts: Union[str, Sequence[str]], batch_size: int = 32, **generation: Any):
        """A dict for a str, a list of dicts for a list: ``{source_field, output_field, truncated}``.

        ``generation`` overrides :class:`GenerationConfig` fields (``num_beams``, ``max_new_tokens``…)."""
        items, single = check_texts(texts, "texts")
        outputs, flags = self.generate_texts(items, batch_size, **generation)
        results = [{self.source_field: text, self.output_field: out, "truncated": cut}
                   for text, out, cut in zip(items, outputs, flags)]
        return results[0] if single else results
