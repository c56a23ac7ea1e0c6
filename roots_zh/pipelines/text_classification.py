"""`TextClassifier`: single texts and text pairs, multi-class, probabilities and label names."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from ..inference.backend import DygraphBackend
from ..metrics.classification import accuracy, recall_per_class
from ..utils.validation import check_choice, check_positive_int, check_texts
from .base import Pipeline
from .lexical import LEXICAL_FILE, LexicalModel
from .lexical import WEIGHT_KEY as LEXICAL_WEIGHT_KEY

logger = logging.getLogger(__name__)

# padded tokens per prediction batch: 32 mixed-length reviews run as a few length-sorted batches instead of
# one padded to its longest (ChnSentiCorp test, 32 per call, Paddle Inference, quiet CPU: 141-155 texts/s
# without a budget, 208 with 2048, 200-231 with 1024, 184-188 with 512)
PREDICT_MAX_TOKENS = 2048


class TextClassifier(Pipeline):
    """Fine-tune and run a ``RootsForSequenceClassification`` with its tokenizer.

    >>> clf = TextClassifier.from_pretrained("roots-base", labels=["负面", "正面"])
    >>> clf.fit(texts, labels); clf.predict("这家酒店服务很好")
    {'text': '这家酒店服务很好', 'label': '正面', 'score': 0.97}
    """

    def __init__(self, model, tokenizer, max_length: int = 128, backend=None, config=None,
                 base_model: Optional[str] = None, lexical: Optional[LexicalModel] = None) -> None:
        """``backend``: any object with ``run(feeds) -> [logits]`` (e.g. an inference ``Predictor``);
        ``None`` runs ``model`` in dygraph (``self.model`` at each call). Without a model, pass its ``config``.
        ``base_model``: what an adapter trained on this classifier builds on (``from_pretrained`` sets it).
        ``lexical``: a lexical leg (:meth:`fit_lexical`) whose log-probabilities are averaged with the
        encoder's, with weight ``config.extra["lexical_weight"]``."""
        super().__init__(model, tokenizer, config, backend, base_model)
        self.max_length = min(check_positive_int(max_length, "max_length"),
                              self.config.max_position_embeddings)
        if not self.config.id2label:
            raise ValueError("the model has no label names (config.id2label); pass `labels=`")
        if sorted(self.config.id2label) != list(range(self.config.num_labels)):
            raise ValueError(f"config.id2label ids {sorted(self.config.id2label)} do not match "
                             f"num_labels={self.config.num_labels}; expected ids 0..{self.config.num_labels - 1}")
        self.labels = [self.config.id2label[i] for i in range(self.config.num_labels)]
        if lexical is not None and lexical.num_labels != len(self.labels):
            raise ValueError(f"`lexical` scores {lexical.num_labels} labels; the classifier has {len(self.labels)}")
        self.lexical = lexical
        if lexical is None:
            self.config.extra.pop(LEXICAL_WEIGHT_KEY, None)

    @classmethod
    def from_pretrained(cls, name_or_dir: Union[str, os.PathLike] = "roots-base",
                        labels: Optional[Sequence[str]] = None, max_length: int = 128,
                        normalize: Any = None, backend: str = "dygraph", pooling: Optional[str] = None,
                        **inference_options: Any) -> "TextClassifier":
        """A registered name or directory; ``labels`` (names in id order) start a new head.

        ``normalize``: input normalisation, a preset ``"none" | "basic" | "web" | "t2s"`` (traditional
        -> simplified), a dict of switches or a ``Normalizer``; ``None`` keeps the one saved with the
        tokenizer. It is saved by ``save_pretrained``.

        ``pooling``: what a new head reads, ``"cls"`` or ``"mean"`` (``RootsConfig.classifier_pooling``);
        only with ``labels``, since a trained head keeps the pooling it was trained on.

        ``backend="inference"`` runs a directory exported by ``export()`` / ``tools/export.py`` with
        Paddle Inference; ``inference_options`` go to ``Predictor`` (device, precision, threads, pool_size)."""
        from ..modeling import RootsConfig, RootsForSequenceClassification
        from ..modeling.config import CLASSIFIER_POOLINGS
        if pooling is not None and labels is None:
            raise ValueError("`pooling` applies to a new head: pass `labels` too (a trained head keeps "
                             "the pooling it was trained with)")
        if backend == "inference" and labels is not None:
            raise ValueError("`labels` start a new (untrained) head; fine-tune with backend='dygraph', "
                             "then export() and load the export with backend='inference'")
        directory, tokenizer, predictor, config = cls.open_pipeline(name_or_dir, backend, inference_options,
                                                                    normalize=normalize)
        lexical = LexicalModel.load(directory)
        if predictor is not None:
            return cls(None, tokenizer, max_length, backend=predictor, config=config, lexical=lexical)
        overrides: Dict[str, Any] = {}
        if labels is not None:
            labels = [str(label) for label in labels]
            if len(labels) < 2 or len(set(labels)) != len(labels):
                raise ValueError(f"`labels` must hold >= 2 distinct names, got {labels}")
            overrides = {"num_labels": len(labels), "id2label": dict(enumerate(labels))}
            if pooling is not None:
                check_choice(pooling, "pooling", CLASSIFIER_POOLINGS)
                overrides["classifier_pooling"] = pooling
            existing = RootsConfig.from_pretrained(directory).id2label
            if existing and existing != overrides["id2label"]:
                logger.warning("replacing the classification head (labels %s -> %s)", existing, labels)
                lexical = None  # it scored the old labels
        model = RootsForSequenceClassification.from_pretrained(directory, **overrides)
        return cls(model, tokenizer, max_length, base_model=str(name_or_dir), lexical=lexical)

    # ------------------------------------------------------------------ encoding
    encode = Pipeline.encode_texts  # the classifier's name for it

    def _label_ids(self, labels: Sequence[Any], unlabelled: Optional[int] = None) -> List[int]:
        """Label names -> ids; ``None`` items become ``unlabelled`` where that is given."""
        index = {name: i for i, name in enumerate(self.labels)}
        out = []
        for i, label in enumerate(labels):
            if label is None and unlabelled is not None:
                out.append(unlabelled)
                continue
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
            eval_text_pairs: Optional[Sequence[str]] = None, adapter: Any = None, class_weights: Any = None,
            threshold: Any = None, **training_args: Any) -> dict:
        """Fine-tune; ``training_args`` are ``TrainingArgs`` fields (epochs, learning_rate, …).

        ``adapter``: ``None`` (full fine-tuning), ``"lora"``, ``"frozen_embeddings"`` or a ``LoraConfig``;
        ``save_pretrained`` then writes only the adapter over the base model.

        ``class_weights``: ``"balanced"`` (``n / (num_labels * count)`` from ``labels``) or one positive
        weight per label (label order) for a class-weighted cross-entropy; ``None``: the plain loss.

        ``threshold`` (two-class classifiers): ``"auto"`` chooses the cut on P(second label) with the best
        eval accuracy at every evaluation (checkpoints are selected on that accuracy; the record also has
        ``accuracy_argmax``), a float in (0, 1) fixes it, ``None`` predicts the argmax. It is saved in the
        config (``extra.decision_threshold``), so ``predict`` and ``evaluate`` use it after loading."""
        from .class_balance import check_threshold, resolve_class_weights, weighted_loss_model

        self.require_model("fit")
        texts, _ = check_texts(texts, "texts")
        if labels is None or len(labels) != len(texts):
            raise ValueError(f"`labels` has {0 if labels is None else len(labels)} items but there are "
                             f"{len(texts)} texts")
        threshold = check_threshold(threshold, len(self.labels), eval_texts is not None and eval_labels is not None)
        label_ids = self._label_ids(labels)
        weights = resolve_class_weights(class_weights, label_ids, len(self.labels))
        features = self.encode(texts, self._pairs(text_pairs, len(texts)))
        for feature, label in zip(features, label_ids):
            feature["labels"] = label
        wrap = None if weights is None else (lambda model: weighted_loss_model(model, weights))
        summary = self._train(features, wrap, eval_texts, eval_labels, eval_text_pairs, adapter, threshold,
                              training_args)
        if weights is not None:
            summary["class_weights"] = weights
        return summary

    def distill(self, texts: Sequence[str], teachers: Any, labels: Optional[Sequence[Any]] = None,
                text_pairs: Optional[Sequence[str]] = None, eval_texts: Optional[Sequence[str]] = None,
                eval_labels: Optional[Sequence[Any]] = None, eval_text_pairs: Optional[Sequence[str]] = None,
                temperature: float = 2.0, alpha: float = 0.5, adapter: Any = None, threshold: Any = None,
                **training_args: Any) -> dict:
        """Train this classifier (the student) on the softened predictions of ``teachers`` (a
        ``TextClassifier`` or a list of them with the same labels: an ensemble, on any backend; a
        teacher may also be its ``[len(texts), len(labels)]`` probabilities, columns in this
        classifier's label order, e.g. a lexical model's) for
        ``texts``, plus cross-entropy on ``labels`` where given (``labels=None``, or ``None`` items:
        unlabelled text, teacher term only). Loss: ``roots_zh.training.distillation.distillation_loss``
        with ``temperature`` and ``alpha`` (the weight of the teacher term); the other arguments as
        :meth:`fit`."""
        from ..modeling.masks import IGNORE_INDEX
        from ..training.distillation import (check_distillation, check_probabilities, distillation_model,
                                             ensemble_log_probs)
        from .class_balance import check_threshold

        self.require_model("distill")
        check_distillation(temperature, alpha)
        texts, _ = check_texts(texts, "texts")
        teachers = list(teachers) if isinstance(teachers, (list, tuple)) else [teachers]
        for i, teacher in enumerate(teachers):
            if isinstance(teacher, np.ndarray):
                check_probabilities(teacher, (len(texts), len(self.labels)), f"teachers[{i}]")
            elif not isinstance(teacher, TextClassifier) or teacher.labels != self.labels:
                raise ValueError(f"`teachers[{i}]` must be a TextClassifier with this classifier's labels "
                                 f"{self.labels}, or an array of probabilities")
        if labels is not None and len(labels) != len(texts):
            raise ValueError(f"`labels` has {len(labels)} items but there are {len(texts)} texts")
        threshold = check_threshold(threshold, len(self.labels), eval_texts is not None and eval_labels is not None)
        pairs = self._pairs(text_pairs, len(texts))
        teacher_logits = ensemble_log_probs([t if isinstance(t, np.ndarray) else t.predict_proba(texts, pairs)
                                             for t in teachers])
        label_ids = self._label_ids(labels if labels is not None else [None] * len(texts), unlabelled=IGNORE_INDEX)
        features = self.encode(texts, pairs)
        for feature, row, label in zip(features, teacher_logits, label_ids):
            feature["teacher_logits"], feature["labels"] = row.tolist(), label
        summary = self._train(features, lambda model: distillation_model(model, temperature, alpha), eval_texts,
                              eval_labels, eval_text_pairs, adapter, threshold, training_args)
        summary["distillation"] = {"teachers": len(teachers), "temperature": temperature, "alpha": alpha,
                                   "labelled": sum(label != IGNORE_INDEX for label in label_ids),
                                   "texts": len(texts)}
        return summary

    def _train(self, features: list, wrap: Any, eval_texts, eval_labels, eval_text_pairs, adapter: Any,
               threshold: Any, training_args: dict) -> dict:
        """The training core of :meth:`fit` and :meth:`distill`: adapter, evaluation (and the ``"auto"``
        threshold), the ``Trainer`` run on ``wrap(model)`` (a loss wrapper, or ``None``), the saved threshold."""
        from ..training.trainer import Trainer, TrainingArgs
        from .adapter_support import enable_adapter
        from .class_balance import THRESHOLD_KEY, choose_threshold

        enable_adapter(self.model, adapter)
        self.config.extra.pop(THRESHOLD_KEY, None)  # a threshold of earlier training no longer applies
        evaluate_fn = None
        if eval_texts is not None:
            if threshold == "auto":
                def evaluate_fn(_model):
                    gold = np.asarray(self._label_ids(eval_labels))
                    probs = self.predict_proba(eval_texts, eval_text_pairs)
                    cut, acc = choose_threshold(probs[:, 1], gold)
                    return {"accuracy": acc, "threshold": cut,
                            "accuracy_argmax": accuracy(gold, probs.argmax(-1)), "n": len(gold)}
            else:
                evaluate_fn = lambda _model: self.evaluate(eval_texts, eval_labels, eval_text_pairs)  # noqa: E731
        pad = {"input_ids": self.tokenizer.pad_token_id}
        model = self.model if wrap is None else wrap(self.model)
        summary = Trainer(model, TrainingArgs(**training_args), features, evaluate_fn, pad).train()
        if threshold == "auto" and summary.get("best"):
            threshold = summary["best"]["threshold"]
        if isinstance(threshold, float):
            self.config.extra[THRESHOLD_KEY] = threshold
            summary["threshold"] = threshold
        return summary

    def finetune(self, texts: Sequence[str], labels: Sequence[Any], text_pairs: Optional[Sequence[str]] = None,
                 eval_texts: Optional[Sequence[str]] = None, eval_labels: Optional[Sequence[Any]] = None,
                 eval_text_pairs: Optional[Sequence[str]] = None, **kwargs: Any) -> dict:
        """Alias of :meth:`fit` (same arguments, validation and result): fine-tune on ``texts`` /
        ``labels``, e.g. ``clf.finetune(texts, labels, epochs=3, class_weights="balanced")``."""
        return self.fit(texts, labels, text_pairs, eval_texts, eval_labels, eval_text_pairs, **kwargs)

    def fit_lexical(self, texts: Sequence[str], labels: Sequence[Any], text_pairs: Optional[Sequence[str]] = None,
                    weight: float = 0.5, max_features: Optional[int] = 100_000, c: float = 4.0) -> Dict[str, Any]:
        """Train the lexical leg (TF-IDF words and word pairs + logistic regression, with the ``c``
        regularisation; needs scikit-learn; ``max_features`` strongest features kept) and average its
        log-probabilities with the encoder's, ``weight`` its share in (0, 1). Saved with the model."""
        from .lexical import fit_lexical_model

        texts, _ = check_texts(texts, "texts")
        if labels is None or len(labels) != len(texts):
            raise ValueError("`labels` must have one label per text")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 < weight < 1:
            raise ValueError(f"`weight` must be a number in (0, 1), got {weight!r}")
        check_positive_int(max_features, "max_features", allow_none=True)
        names = [self.labels[i] for i in self._label_ids(labels)]
        pairs = self._pairs(text_pairs, len(texts))
        self.lexical = fit_lexical_model(self._normalized(texts), names, self.labels,
                                         None if pairs is None else self._normalized(pairs), max_features, c)
        self.config.extra[LEXICAL_WEIGHT_KEY] = float(weight)
        return {"features": len(self.lexical.hashes), "weight": float(weight)}

    def _normalized(self, texts: List[str]) -> List[str]:
        """``texts`` under the tokenizer's ``normalize=`` option (e.g. traditional -> simplified), as the
        encoder reads them: the lexical leg reads the same text."""
        norm = self.tokenizer.normalizer
        return list(texts) if norm is None else [norm(t) for t in texts]

    @property
    def lexical_weight(self) -> float:
        """The lexical leg's share of the averaged log-probabilities (0 without a leg)."""
        return float(self.config.extra.get(LEXICAL_WEIGHT_KEY, 0.5)) if self.lexical is not None else 0.0

    def _with_settings(self, directory: Union[str, os.PathLike]) -> Path:
        directory = super()._with_settings(directory)
        if self.lexical is not None:
            self.lexical.save(directory)
        else:  # a leg saved there earlier must not come back with this model
            (directory / LEXICAL_FILE).unlink(missing_ok=True)
        return directory

    @property
    def threshold(self) -> Optional[float]:
        """The saved two-class decision threshold on P(second label) (``None``: argmax)."""
        from .class_balance import THRESHOLD_KEY

        value = getattr(self.config, "extra", {}).get(THRESHOLD_KEY)
        return None if value is None or len(self.labels) != 2 else float(value)

    def tune_threshold(self, texts: Sequence[str], labels: Sequence[Any], text_pairs: Optional[Sequence[str]] = None,
                       metric: str = "accuracy") -> Dict[str, float]:
        """Choose and keep (saved with the model) the two-class decision threshold with the best
        ``metric`` (``"accuracy"`` or ``"macro_f1"``) on these labelled texts; returns both."""
        from .class_balance import THRESHOLD_KEY, choose_threshold

        if len(self.labels) != 2:
            raise ValueError(f"a threshold applies to two-class classifiers; this one has {len(self.labels)} labels")
        texts, _ = check_texts(texts, "texts")
        if labels is None or len(labels) != len(texts):
            raise ValueError("`labels` must have one label per text")
        probs = self.predict_proba(texts, text_pairs)
        cut, score = choose_threshold(probs[:, 1], np.asarray(self._label_ids(labels)), metric)
        self.config.extra[THRESHOLD_KEY] = cut
        return {"threshold": cut, metric: score}

    def _decide(self, probs: np.ndarray) -> np.ndarray:
        from .class_balance import decide

        return decide(probs, self.threshold)

    def evaluate(self, texts: Sequence[str], labels: Sequence[Any], text_pairs: Optional[Sequence[str]] = None,
                 batch_size: int = 64) -> Dict[str, float]:
        texts, _ = check_texts(texts, "texts")
        if labels is None or len(labels) != len(texts):
            raise ValueError("`labels` must have one label per text")
        gold = np.asarray(self._label_ids(labels))
        probs = self.predict_proba(texts, text_pairs, batch_size)
        pred = self._decide(probs)
        out = {"accuracy": accuracy(gold, pred), "n": len(texts),
               "recall_per_class": dict(zip(self.labels, recall_per_class(gold, pred, len(self.labels))))}
        if self.threshold is not None:
            out["threshold"] = self.threshold
        return out

    # ------------------------------------------------------------------ predict
    def predict_proba(self, texts: Sequence[str], text_pairs: Optional[Sequence[str]] = None,
                      batch_size: int = 64, max_tokens: Optional[int] = PREDICT_MAX_TOKENS) -> np.ndarray:
        """``[N, num_labels]`` probabilities. Batches are sorted by length and hold at most ``batch_size``
        texts and ``max_tokens`` padded tokens (``None``: no token budget), cut where the padding saved
        outweighs one more model call, to avoid padding work."""
        from ..data.collate import RUN_OVERHEAD_TOKENS, pad_batch, sorted_batches

        texts, _ = check_texts(texts, "texts")
        check_positive_int(batch_size, "batch_size")
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        if not texts:
            return out
        pairs = self._pairs(text_pairs, len(texts))
        features = self.encode(texts, pairs)
        backend = self.backend or DygraphBackend(self.model)
        for idx in sorted_batches([len(f["input_ids"]) for f in features], batch_size, max_tokens,
                                  run_overhead=RUN_OVERHEAD_TOKENS):
            batch = pad_batch([features[i] for i in idx], {"input_ids": self.tokenizer.pad_token_id})
            out[idx] = self.postprocess(backend.run(batch)[0])
        if self.lexical is not None:
            from ..utils.numeric import mean_log_probs, softmax

            lexical = self.lexical.predict_proba(self._normalized(texts), None if pairs is None else self._normalized(pairs))
            out = softmax(mean_log_probs([out, lexical], [1 - self.lexical_weight, self.lexical_weight]))
        return out

    @staticmethod
    def postprocess(logits: np.ndarray) -> np.ndarray:
        """Raw ``[N, num_labels]`` logits from any backend -> probabilities (the one softmax)."""
        from ..utils.numeric import softmax

        return softmax(logits)

    def predict(self, texts: Union[str, Sequence[str]], text_pairs: Union[str, Sequence[str], None] = None,
                batch_size: int = 64, return_all_scores: bool = False,
                max_tokens: Optional[int] = PREDICT_MAX_TOKENS):
        """A dict for a str, a list of dicts for a list: ``text``, ``label``, ``score`` (+ ``scores``)."""
        items, single = check_texts(texts, "texts")
        pairs = None
        if text_pairs is not None:
            pairs = [text_pairs] if single and isinstance(text_pairs, str) else text_pairs
        probs = self.predict_proba(items, pairs, batch_size, max_tokens)
        results = []
        decided = self._decide(probs)
        for i, row in enumerate(probs):
            best = int(decided[i])
            res = {"text": items[i], "label": self.labels[best], "score": round(float(row[best]), 6)}
            if pairs is not None:
                res["text_pair"] = pairs[i]
            if return_all_scores:
                res["scores"] = {name: round(float(p), 6) for name, p in zip(self.labels, row)}
            results.append(res)
        return results[0] if single else results

