"""`TextClassifier`: single texts and text pairs, multi-class, probabilities and label names."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from ..utils.validation import check_positive_int, check_texts

logger = logging.getLogger(__name__)


class TextClassifier:
    """Fine-tune and run a ``RootsForSequenceClassification`` with its tokenizer.

    >>> clf = TextClassifier.from_pretrained("roots-base", labels=["负面", "正面"])
    >>> clf.fit(texts, labels); clf.predict("这家酒店服务很好")
    {'text': '这家酒店服务很好', 'label': '正面', 'score': 0.97}
    """

    def __init__(self, model, tokenizer, max_length: int = 128) -> None:
        self.model, self.tokenizer = model, tokenizer
        self.max_length = min(check_positive_int(max_length, "max_length"),
                              model.config.max_position_embeddings)
        if not model.config.id2label:
            raise ValueError("the model has no label names (config.id2label); pass `labels=`")
        self.labels = [model.config.id2label[i] for i in range(model.config.num_labels)]

    @classmethod
    def from_pretrained(cls, name_or_dir: Union[str, os.PathLike] = "roots-base",
                        labels: Optional[Sequence[str]] = None, max_length: int = 128) -> "TextClassifier":
        """A registered name or directory; ``labels`` (names in id order) start a new head."""
        from ..hub import resolve_model_dir
        from ..modeling import RootsConfig, RootsForSequenceClassification
        from ..tokenization.auto import AutoTokenizer

        directory = resolve_model_dir(name_or_dir)
        tokenizer = AutoTokenizer.from_pretrained(directory)
        overrides: Dict[str, Any] = {}
        if labels is not None:
            labels = [str(label) for label in labels]
            if len(labels) < 2 or len(set(labels)) != len(labels):
                raise ValueError(f"`labels` must hold >= 2 distinct names, got {labels}")
            overrides = {"num_labels": len(labels), "id2label": dict(enumerate(labels))}
            existing = RootsConfig.from_pretrained(directory).id2label
            if existing and existing != overrides["id2label"]:
                logger.warning("replacing the classification head (labels %s -> %s)", existing, labels)
        model = RootsForSequenceClassification.from_pretrained(directory, **overrides)
        return cls(model, tokenizer, max_length)

    # ------------------------------------------------------------------ encoding
    def encode(self, texts: List[str], text_pairs: Optional[List[str]] = None) -> List[Dict[str, List[int]]]:
        enc = self.tokenizer(texts, text_pairs, max_length=self.max_length, truncation=True)
        n_long = sum(len(ids) >= self.max_length for ids in enc["input_ids"])
        if n_long:
            logger.warning("%d of %d inputs truncated to max_length=%d tokens", n_long, len(texts), self.max_length)
        return [{"input_ids": enc["input_ids"][i], "token_type_ids": enc["token_type_ids"][i],
                 "attention_mask": enc["attention_mask"][i]} for i in range(len(texts))]

    def _label_ids(self, labels: Sequence[Any]) -> List[int]:
        index = {name: i for i, name in enumerate(self.labels)}
        out = []
        for i, label in enumerate(labels):
            if str(label) not in index:
                raise ValueError(f"`labels[{i}]`={label!r} is not one of the classifier's labels {self.labels}")
            out.append(index[str(label)])
        return out

    @staticmethod
    def _pairs(text_pairs, n: int, field: str = "text_pairs") -> Optional[List[str]]:
        if text_pairs is None:
            return None
        pairs, _ = check_texts(text_pairs, field)
        if len(pairs) != n:
            raise ValueError(f"`{field}` has {len(pairs)} items but there are {n} texts")
        return pairs

    # ------------------------------------------------------------------ train / evaluate
    def fit(self, texts: Sequence[str], labels: Sequence[Any], text_pairs: Optional[Sequence[str]] = None,
            eval_texts: Optional[Sequence[str]] = None, eval_labels: Optional[Sequence[Any]] = None,
            eval_text_pairs: Optional[Sequence[str]] = None, **training_args: Any) -> dict:
        """Fine-tune; ``training_args`` are ``TrainingArgs`` fields (epochs, learning_rate, …)."""
        from ..training.trainer import Trainer, TrainingArgs

        texts, _ = check_texts(texts, "texts")
        if len(labels) != len(texts):
            raise ValueError(f"`labels` has {len(labels)} items but there are {len(texts)} texts")
        features = self.encode(texts, self._pairs(text_pairs, len(texts)))
        for feature, label in zip(features, self._label_ids(labels)):
            feature["labels"] = label
        evaluate_fn = None
        if eval_texts is not None:
            evaluate_fn = lambda _model: self.evaluate(eval_texts, eval_labels, eval_text_pairs)  # noqa: E731
        pad = {"input_ids": self.tokenizer.pad_token_id}
        return Trainer(self.model, TrainingArgs(**training_args), features, evaluate_fn, pad).train()

    def evaluate(self, texts: Sequence[str], labels: Sequence[Any], text_pairs: Optional[Sequence[str]] = None,
                 batch_size: int = 64) -> Dict[str, float]:
        texts, _ = check_texts(texts, "texts")
        if labels is None or len(labels) != len(texts):
            raise ValueError("`labels` must have one label per text")
        gold = np.asarray(self._label_ids(labels))
        probs = self.predict_proba(texts, text_pairs, batch_size)
        return {"accuracy": float((probs.argmax(-1) == gold).mean()), "n": len(texts)}

    # ------------------------------------------------------------------ predict
    def predict_proba(self, texts: Sequence[str], text_pairs: Optional[Sequence[str]] = None,
                      batch_size: int = 64) -> np.ndarray:
        """``[N, num_labels]`` probabilities (batches sorted by length to avoid padding work)."""
        import paddle

        from ..training.trainer import pad_batch

        texts, _ = check_texts(texts, "texts")
        check_positive_int(batch_size, "batch_size")
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        if not texts:
            return out
        features = self.encode(texts, self._pairs(text_pairs, len(texts)))
        order = np.argsort([len(f["input_ids"]) for f in features], kind="stable")
        was_training = self.model.training
        self.model.eval()
        with paddle.no_grad():
            for start in range(0, len(order), batch_size):
                idx = order[start:start + batch_size]
                batch = pad_batch([features[i] for i in idx], {"input_ids": self.tokenizer.pad_token_id})
                logits = self.model(**{k: paddle.to_tensor(v) for k, v in batch.items()}).logits
                out[idx] = paddle.nn.functional.softmax(logits, axis=-1).numpy()
        if was_training:
            self.model.train()
        return out

    def predict(self, texts: Union[str, Sequence[str]], text_pairs: Union[str, Sequence[str], None] = None,
                batch_size: int = 64, return_all_scores: bool = False):
        """A dict for a str, a list of dicts for a list: ``text``, ``label``, ``score`` (+ ``scores``)."""
        items, single = check_texts(texts, "texts")
        pairs = None
        if text_pairs is not None:
            pairs = [text_pairs] if single and isinstance(text_pairs, str) else text_pairs
        probs = self.predict_proba(items, pairs, batch_size)
        results = []
        for i, row in enumerate(probs):
            best = int(row.argmax())
            res = {"text": items[i], "label": self.labels[best], "score": round(float(row[best]), 6)}
            if pairs is not None:
                res["text_pair"] = pairs[i]
            if return_all_scores:
                res["scores"] = {name: round(float(p), 6) for name, p in zip(self.labels, row)}
            results.append(res)
        return results[0] if single else results

    def save_pretrained(self, directory: Union[str, os.PathLike], dtype: Optional[str] = None) -> Path:
        self.model.save_pretrained(directory, dtype=dtype)
        self.tokenizer.save_pretrained(directory)
        return Path(directory)

