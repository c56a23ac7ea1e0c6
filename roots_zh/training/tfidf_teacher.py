"""A lexical classifier: jieba words + TF-IDF (uni+bigrams) + logistic regression (scikit-learn).

The benchmark's in-domain baseline, a distillation teacher whose errors differ from the encoder's,
and the trainer of ``TextClassifier``'s lexical leg (``fit_lexical``): on TNEWS dev it scores 55.6
alone and 57.5 averaged (log-probabilities) with the 55.5 encoder. :func:`cross_fitted_probs` gives
its probabilities on its own training texts out of fold, so that a student is not taught the
memorised labels.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np

from ..tokenization.segment import lexical_documents, word_ngrams


class TfidfClassifier:
    """``fit(texts, labels)`` then ``predict`` / ``predict_proba`` (columns in ``label_order``).
    The ``*_words`` methods take ``lexical_documents``' output (jieba words), for callers that reuse it.
    ``max_features``: keep the features with the largest weights and refit on them (a smaller model)."""

    def __init__(self, c: float = 4.0, max_iter: int = 2000, max_features: Optional[int] = None) -> None:
        self.c, self.max_iter, self.max_features = c, max_iter, max_features

    def fit(self, texts: Sequence[str], labels: Sequence, pairs: Optional[Sequence[str]] = None
            ) -> "TfidfClassifier":
        return self.fit_words(lexical_documents(texts, pairs), labels)

    def fit_words(self, words: Sequence[List[str]], labels: Sequence) -> "TfidfClassifier":
        if len(words) != len(labels):
            raise ValueError(f"`labels` has {len(labels)} items but there are {len(words)} texts")
        self._fit(words, labels)
        if self.max_features is not None and len(self.vectorizer.vocabulary_) > self.max_features:
            strength = np.abs(self.model.coef_).max(axis=0)
            names = self.vectorizer.get_feature_names_out()
            self._fit(words, labels, vocabulary=list(names[np.argsort(-strength, kind="stable")[:self.max_features]]))
        return self

    def _fit(self, words: Sequence[List[str]], labels: Sequence, vocabulary: Optional[List[str]] = None) -> None:
        try:
            from sklearn.feature_extraction.text import TfidfVectorizer
            from sklearn.linear_model import LogisticRegression
        except ImportError as exc:
            raise ImportError("the TF-IDF classifier needs scikit-learn: pip install 'roots_zh[metrics]'") from exc
        self.vectorizer = TfidfVectorizer(analyzer=word_ngrams, sublinear_tf=True, vocabulary=vocabulary)
        features = self.vectorizer.fit_transform(words)
        self.model = LogisticRegression(max_iter=self.max_iter, C=self.c).fit(features, list(labels))

    def predict(self, texts: Sequence[str], pairs: Optional[Sequence[str]] = None) -> np.ndarray:
        return self.model.predict(self.vectorizer.transform(lexical_documents(texts, pairs)))

    def predict_proba(self, texts: Sequence[str], label_order: Sequence, pairs: Optional[Sequence[str]] = None
                      ) -> np.ndarray:
        """``[N, len(label_order)]``; a label unseen in training gets probability 0."""
        return self.proba_words(lexical_documents(texts, pairs), label_order)

    def proba_words(self, words: Sequence[List[str]], label_order: Sequence) -> np.ndarray:
        probs = self.model.predict_proba(self.vectorizer.transform(words))
        out = np.zeros((len(words), len(label_order)), dtype=np.float32)
        column = {label: i for i, label in enumerate(self.model.classes_)}
        for j, label in enumerate(label_order):
            if label in column:
                out[:, j] = probs[:, column[label]]
        return out

    def linear_model(self, label_order: Sequence) -> Tuple[List[str], np.ndarray, np.ndarray, np.ndarray]:
        """``(features, idf [V], weight [V, len(label_order)], bias [len(label_order)])``: the fitted model
        as softmax logits per label (a two-class fit's single score becomes ``[0, z]``)."""
        classes = list(self.model.classes_)
        missing = [label for label in label_order if label not in classes]
        if missing or len(label_order) != len(classes):
            raise ValueError(f"`label_order` {list(label_order)} must name exactly the fitted labels {classes}")
        coef, intercept = self.model.coef_, self.model.intercept_
        if len(classes) == 2:  # sklearn keeps one score for the second class
            coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
        order = [classes.index(label) for label in label_order]
        return (list(self.vectorizer.get_feature_names_out()), self.vectorizer.idf_.astype(np.float32),
                coef[order].T.astype(np.float32), intercept[order].astype(np.float32))


def cross_fitted_probs(texts: Sequence[str], labels: Sequence, label_order: Sequence, folds: int = 5,
                       seed: int = 42, pairs: Optional[Sequence[str]] = None,
                       unlabelled: Sequence[str] = ()) -> Tuple[np.ndarray, np.ndarray]:
    """``(probs of texts, probs of unlabelled)``: each training text's from a :class:`TfidfClassifier`
    fitted on the other ``folds - 1`` folds, the unlabelled texts' from one fitted on all of them.
    Every text is segmented once."""
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise ValueError(f"`folds` must be an int >= 2, got {folds!r}")
    words = lexical_documents(texts, pairs)
    order = np.random.default_rng(seed).permutation(len(words))
    out = np.zeros((len(words), len(label_order)), dtype=np.float32)
    pick = lambda xs, rows: [xs[i] for i in rows]  # noqa: E731
    for held in np.array_split(order, folds):
        rest = np.setdiff1d(order, held)
        model = TfidfClassifier().fit_words(pick(words, rest), pick(labels, rest))
        out[held] = model.proba_words(pick(words, held), label_order)
    extra = np.zeros((0, len(label_order)), dtype=np.float32)
    if len(unlabelled):
        extra = TfidfClassifier().fit_words(words, labels).proba_words(lexical_documents(unlabelled), label_order)
    return out, extra
