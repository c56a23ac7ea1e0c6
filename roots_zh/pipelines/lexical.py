"""``LexicalModel``: a classifier's lexical leg, a linear model over TF-IDF word and word-pair features.

Trained by :class:`~roots_zh.training.tfidf_teacher.TfidfClassifier` (scikit-learn), run here in numpy
only. ``TextClassifier`` averages its log-probabilities with the encoder's (weight ``lexical_weight``
in the model config): the two err differently (TNEWS dev: encoder 55.5, TF-IDF 55.6, both 57.0).

Stored in ``lexical.safetensors``: features as CRC-32 hashes of their UTF-8 text (sorted, no two alike;
an unseen feature hits a stored hash with probability about V / 2^32), float16 IDF, int8 weights with one
float32 scale per label, float32 biases. The features are those of
:func:`~roots_zh.tokenization.segment.lexical_words` / ``word_ngrams``; TF is sublinear, vectors are
L2-normalised, as scikit-learn's ``TfidfVectorizer(sublinear_tf=True)``.
"""
from __future__ import annotations

import zlib
from pathlib import Path
from typing import List, Optional, Sequence, Union

import numpy as np

LEXICAL_FILE = "lexical.safetensors"
WEIGHT_KEY = "lexical_weight"  # config.extra: the lexical leg's share of the averaged log-probabilities


def feature_hash(feature: str) -> int:
    return zlib.crc32(feature.encode("utf-8"))


class LexicalModel:
    """``hashes [V]`` (uint32, sorted), ``idf [V]``, ``weight [V, C]``, ``bias [C]``."""

    def __init__(self, hashes: np.ndarray, idf: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> None:
        hashes = np.asarray(hashes, dtype=np.uint32)
        if hashes.ndim != 1 or (len(hashes) > 1 and not (np.diff(hashes.astype(np.int64)) > 0).all()):
            raise ValueError("`hashes` must be a 1-D array of distinct, sorted feature hashes")
        weight = np.asarray(weight, dtype=np.float32)
        if weight.ndim != 2 or weight.shape[0] != len(hashes) or np.shape(idf) != hashes.shape \
                or np.shape(bias) != (weight.shape[1],):
            raise ValueError(f"shapes disagree: hashes {hashes.shape}, idf {np.shape(idf)}, weight {weight.shape}, "
                             f"bias {np.shape(bias)}")
        self.hashes, self.weight = hashes, weight
        self.idf, self.bias = np.asarray(idf, dtype=np.float32), np.asarray(bias, dtype=np.float32)

    @property
    def num_labels(self) -> int:
        return self.weight.shape[1]

    @classmethod
    def from_features(cls, features: Sequence[str], idf: np.ndarray, weight: np.ndarray, bias: np.ndarray
                      ) -> "LexicalModel":
        """From named features; of two features with the same hash only the stronger one is kept."""
        hashes = np.fromiter((feature_hash(f) for f in features), dtype=np.uint32, count=len(features))
        strength = np.abs(np.asarray(weight)).max(axis=1)
        order = np.lexsort((-strength, hashes))  # by hash, the strongest first among equal hashes
        keep = order[np.concatenate([[True], np.diff(hashes[order].astype(np.int64)) > 0])] if len(order) else order
        return cls(hashes[keep], np.asarray(idf)[keep], np.asarray(weight)[keep], bias)

    # ------------------------------------------------------------------ predict
    def logits(self, documents: Sequence[List[str]]) -> np.ndarray:
        """``[N, C]`` from each document's features (``word_ngrams(lexical_words(text))``)."""
        rows, hashes = [], []
        for i, features in enumerate(documents):
            rows.extend([i] * len(features))
            hashes.extend(feature_hash(f) for f in features)
        out = np.tile(self.bias, (len(documents), 1))
        if not hashes or not len(self.hashes):
            return out
        rows, hashes = np.asarray(rows), np.asarray(hashes, dtype=np.uint32)
        slot = np.minimum(np.searchsorted(self.hashes, hashes), len(self.hashes) - 1)
        known = self.hashes[slot] == hashes
        key, count = np.unique(rows[known].astype(np.int64) * len(self.hashes) + slot[known], return_counts=True)
        row, feat = np.divmod(key, len(self.hashes))
        value = (1.0 + np.log(count)) * self.idf[feat]  # sublinear TF x IDF
        norm = np.sqrt(np.bincount(row, value * value, minlength=len(documents)))
        value = value / norm[row]
        np.add.at(out, row, value[:, None] * self.weight[feat])
        return out

    def predict_proba(self, texts: Sequence[str], pairs: Optional[Sequence[str]] = None) -> np.ndarray:
        from ..tokenization.segment import lexical_documents, word_ngrams
        from ..utils.numeric import softmax

        return softmax(self.logits([word_ngrams(words) for words in lexical_documents(texts, pairs)]))

    # ------------------------------------------------------------------ save / load
    def save(self, directory: Union[str, Path]) -> Path:
        """Write ``lexical.safetensors`` (atomic) into ``directory``; returns its path."""
        from safetensors.numpy import save_file

        from ..utils.files import atomic_save

        scale = np.abs(self.weight).max(axis=0) / 127.0
        safe = np.where(scale > 0, scale, 1.0)
        arrays = {"hashes": self.hashes, "idf": self.idf.astype(np.float16),
                  "weight": np.clip(np.rint(self.weight / safe), -127, 127).astype(np.int8),
                  "weight_scale": scale.astype(np.float32), "bias": self.bias}
        path = Path(directory) / LEXICAL_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        return atomic_save(path, lambda tmp: save_file(arrays, tmp, metadata={"format": "roots-lexical"}))

    @classmethod
    def load(cls, directory: Union[str, Path]) -> Optional["LexicalModel"]:
        """The model saved in ``directory``, or ``None`` when it has none."""
        from safetensors.numpy import load_file

        path = Path(directory) / LEXICAL_FILE
        if not path.is_file():
            return None
        arrays = load_file(str(path))
        missing = {"hashes", "idf", "weight", "weight_scale", "bias"} - set(arrays)
        if missing:
            raise ValueError(f"{path} lacks {sorted(missing)}: not a lexical model file")
        weight = arrays["weight"].astype(np.float32) * arrays["weight_scale"].astype(np.float32)
        return cls(arrays["hashes"], arrays["idf"], weight, arrays["bias"])


def fit_lexical_model(texts: Sequence[str], labels: Sequence[str], label_order: Sequence[str],
                      pairs: Optional[Sequence[str]] = None, max_features: Optional[int] = 100_000,
                      c: float = 4.0) -> LexicalModel:
    """Train a :class:`LexicalModel` (needs scikit-learn) with columns in ``label_order``."""
    from ..training.tfidf_teacher import TfidfClassifier

    tfidf = TfidfClassifier(c=c, max_features=max_features).fit(texts, labels, pairs)
    return LexicalModel.from_features(*tfidf.linear_model(label_order))
