"""`TextSimilarity`: sentence vectors (``RootsForSentenceEmbedding``) and the cosine similarity of text
pairs, as PaddleNLP's ``Taskflow("text_similarity")`` (SimBERT) and Sentence-BERT. Trained contrastively
on paraphrase pairs (and on single texts, SimCSE's dropout views); a pair is called similar (label
``"1"``) at or above ``config.extra["similarity_threshold"]``.
"""
from __future__ import annotations

import os
from typing import Any, Dict, Optional, Sequence, Union

import numpy as np

from ..metrics.classification import accuracy, recall_per_class, roc_auc
from ..utils.validation import check_positive_int, check_texts
from .base import Pipeline


SIMILARITY_THRESHOLD_KEY = "similarity_threshold"  # config.extra
DEFAULT_THRESHOLD = 0.8  # before a threshold is tuned on labelled pairs


class TextSimilarity(Pipeline):
    """Embed texts and score text pairs by cosine similarity.

    >>> sim = TextSimilarity.from_pretrained("roots-similarity")
    >>> sim.predict("花呗怎么还款", "花呗如何还钱")
    {'text1': '花呗怎么还款', 'text2': '花呗如何还钱', 'similarity': 0.93, 'label': '1'}
    """

    OUTPUT_FIELDS = ("embeddings",)

    def __init__(self, model, tokenizer, max_length: int = 64, backend=None, config=None,
                 base_model: Optional[str] = None) -> None:
        super().__init__(model, tokenizer, config, backend, base_model)
        self.max_length = min(check_positive_int(max_length, "max_length"), self.config.max_position_embeddings)

    @classmethod
    def from_pretrained(cls, name_or_dir: Union[str, os.PathLike] = "roots-similarity", max_length: int = 64,
                        normalize: Any = None, backend: str = "dygraph", **inference_options: Any) -> "TextSimilarity":
        """A registered name or directory (``"roots-base"`` starts an untrained one); ``normalize`` as in
        ``TextClassifier.from_pretrained``; ``backend="inference"`` / ``"onnx"`` run an export."""
        from ..modeling import RootsForSentenceEmbedding

        directory, tokenizer, predictor, config = cls.open_pipeline(name_or_dir, backend, inference_options,
                                                                    normalize=normalize)
        if predictor is not None:
            return cls(None, tokenizer, max_length, backend=predictor, config=config)
        model = RootsForSentenceEmbedding.from_pretrained(directory)
        return cls(model, tokenizer, max_length, base_model=str(name_or_dir))

    @property
    def threshold(self) -> float:
        return float(self.config.extra.get(SIMILARITY_THRESHOLD_KEY, DEFAULT_THRESHOLD))

    # ------------------------------------------------------------------ inference
    def embed(self, texts: Union[str, Sequence[str]], batch_size: int = 64) -> np.ndarray:
        """``[N, hidden]`` float32 unit vectors (``[hidden]`` for a str)."""
        from ..data.collate import RUN_OVERHEAD_TOKENS, pad_batch, sorted_batches

        items, single = check_texts(texts, "texts")
        check_positive_int(batch_size, "batch_size")
        out = np.zeros((len(items), self.config.hidden_size), dtype=np.float32)
        features = self.encode_texts(items)
        for idx in sorted_batches([len(f["input_ids"]) for f in features], batch_size,
                                  run_overhead=RUN_OVERHEAD_TOKENS):
            batch = pad_batch([features[i] for i in idx], {"input_ids": self.tokenizer.pad_token_id})
            out[idx] = self.backend.run(batch)[0]
        return out[0] if single else out

    def similarity(self, texts: Sequence[str], text_pairs: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """``[N]`` cosine similarities of ``texts[i]`` and ``text_pairs[i]``."""
        texts, _ = check_texts(texts, "texts")
        pairs, _ = check_texts(text_pairs, "text_pairs")
        if len(pairs) != len(texts):
            raise ValueError(f"`text_pairs` has {len(pairs)} items but there are {len(texts)} texts")
        unique = list(dict.fromkeys(texts + pairs))  # each distinct text is encoded once
        vectors = self.embed(unique, batch_size) if unique else np.zeros((0, self.config.hidden_size))
        row = {text: i for i, text in enumerate(unique)}
        a = vectors[[row[t] for t in texts]]
        b = vectors[[row[t] for t in pairs]]
        return (a * b).sum(-1).astype(np.float32)

    def predict(self, texts: Union[str, Sequence[str]], text_pairs: Union[str, Sequence[str]],
                batch_size: int = 64):
        """A dict for a pair of str, a list of dicts for two lists: ``text1``, ``text2``, ``similarity``
        (cosine) and ``label`` (``"1"`` similar at or above :attr:`threshold`, else ``"0"``)."""
        items, single = check_texts(texts, "texts")
        pairs = [text_pairs] if single and isinstance(text_pairs, str) else text_pairs
        scores, cut = self.similarity(items, pairs, batch_size), self.threshold
        out = [{"text1": a, "text2": b, "similarity": round(float(s), 6), "label": "1" if s >= cut else "0"}
               for a, b, s in zip(items, pairs, scores)]
        return out[0] if single else out

    def evaluate(self, texts: Sequence[str], text_pairs: Sequence[str], labels: Sequence[Any]) -> Dict[str, float]:
        """``auc`` (ranking), ``accuracy`` at :attr:`threshold` and ``recall_per_class`` on 0/1 ``labels``."""
        gold = self._gold(labels, len(texts))
        scores = self.similarity(texts, text_pairs)
        predicted = (scores >= self.threshold).astype(np.int64)
        return {"auc": roc_auc(gold, scores), "accuracy": accuracy(gold, predicted),
                "recall_per_class": dict(zip(("0", "1"), recall_per_class(gold, predicted, 2))),
                "threshold": self.threshold, "n": len(gold)}

    def tune_threshold(self, texts: Sequence[str], text_pairs: Sequence[str], labels: Sequence[Any],
                       metric: str = "macro_f1") -> float:
        """Set (and return) the cosine cut with the best ``metric`` (``"accuracy"`` | ``"macro_f1"``) on
        labelled pairs; it is saved with the model. Tune it on pairs you do not report on."""
        from .class_balance import choose_threshold

        gold = self._gold(labels, len(texts))
        scores = self.similarity(texts, text_pairs)
        cut, _ = choose_threshold(scores, gold, metric, score_range=(-1.0, 1.0))
        self.config.extra[SIMILARITY_THRESHOLD_KEY] = round(cut, 6)
        return self.threshold

    @staticmethod
    def _gold(labels: Sequence[Any], n: int) -> np.ndarray:
        gold = []
        for i, label in enumerate(labels):
            if str(label) not in ("0", "1"):
                raise ValueError(f"`labels[{i}]`={label!r} must be 0/1 (or '0'/'1')")
            gold.append(int(str(label)))
        if len(gold) != n:
            raise ValueError(f"`labels` has {len(gold)} items but there are {n} texts")
        gold = np.asarray(gold, dtype=np.int64)
        if gold.min() == gold.max():
            raise ValueError("`labels` must hold both 0 and 1")
        return gold

    # ------------------------------------------------------------------ training
    def fit(self, texts: Sequence[str], text_pairs: Optional[Sequence[str]] = None,
            labels: Optional[Sequence[Any]] = None, eval_texts: Optional[Sequence[str]] = None, eval_text_pairs: Optional[Sequence[str]] = None,
            eval_labels: Optional[Sequence[Any]] = None, adapter: Any = None, temperature: float = 0.05,
            **training_args: Any) -> dict:
        """Contrastive training: ``text_pairs[i]`` is the paraphrase of ``texts[i]`` (``None`` items, or
        no ``text_pairs``, pair a text with itself: SimCSE's dropout views); the other pairs of a batch
        are the negatives, so a batch should not hold two paraphrases of one question. With 0/1 ``labels``
        (every pair labelled) the loss is CoSENT instead: similar pairs must outscore dissimilar ones.
        With labelled eval pairs the weights with the best ``auc`` are kept. ``training_args`` are
        ``TrainingArgs`` fields."""
        from ..training.trainer import Trainer, TrainingArgs
        from ..modeling.heads import TEMPERATURE_KEY
        from .adapter_support import enable_adapter

        self.require_model("fit")
        texts, _ = check_texts(texts, "texts")
        pairs = [None] * len(texts) if text_pairs is None else list(text_pairs)
        if len(pairs) != len(texts):
            raise ValueError(f"`text_pairs` has {len(pairs)} items but there are {len(texts)} texts")
        pairs = [t if p is None else p for t, p in zip(texts, pairs)]
        pairs, _ = check_texts(pairs, "text_pairs")
        if not (isinstance(temperature, (int, float)) and temperature > 0):
            raise ValueError(f"`temperature` must be a positive number, got {temperature!r}")
        self.config.extra[TEMPERATURE_KEY] = float(temperature)
        gold = [None] * len(texts) if labels is None else self._gold(labels, len(texts)).tolist()
        features = [{"input_ids": a["input_ids"], "attention_mask": a["attention_mask"],
                     "pair_input_ids": b["input_ids"], "pair_attention_mask": b["attention_mask"],
                     **({} if y is None else {"labels": y})}
                    for a, b, y in zip(self.encode_texts(texts), self.encode_texts(pairs), gold)]
        evaluate_fn = None
        if eval_texts is not None:
            if eval_text_pairs is None or eval_labels is None:
                raise ValueError("pass `eval_text_pairs` and `eval_labels` with `eval_texts`")
            evaluate_fn = lambda _model: self.evaluate(eval_texts, eval_text_pairs, eval_labels)  # noqa: E731
            training_args.setdefault("metric", "auc")
        enable_adapter(self.model, adapter)
        pad = {"input_ids": self.tokenizer.pad_token_id, "pair_input_ids": self.tokenizer.pad_token_id}
        return Trainer(self.model, TrainingArgs(**training_args), features, evaluate_fn, pad).train()
