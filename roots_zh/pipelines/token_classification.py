"""`TokenClassifier`: named-entity recognition with BIO/BMES tags on sub-word tokens, character
offsets into the original text, sliding windows for long texts and entity-level P/R/F1.

Alignment: tokens are grouped into *units*, one per distinct char span (byte-fallback pieces of one
char share its span; only the first piece of a unit is tagged, the others get ``IGNORE_INDEX``). An
entity's char span maps to the units it covers (``B`` on the first, ``I``/``M``/``E`` after it). An
entity whose edge falls inside a token cannot be represented: its tokens get ``IGNORE_INDEX`` in
training and it is counted (``alignment_report``). Decoding maps unit spans back to ``(start of first
unit, end of last unit)``, so gold spans → tags → spans is lossless for every representable entity.
"""
from __future__ import annotations

import logging
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..metrics.spans import entity_prf
from ..data.ner_qa import SCHEMES, Span, spans_to_tags, tag_names, tags_to_spans, viterbi_paths
from ..utils.numeric import softmax
from ..utils.validation import check_choice, check_positive_int, check_texts
from .base import Pipeline
from ..data.collate import RUN_OVERHEAD_TOKENS, sorted_batches
from .windowing import encode_with_offsets, max_context_owner, sliding_windows

logger = logging.getLogger(__name__)
DECODINGS = ("viterbi", "argmax")
CRITERIA_KEY = "criteria"  # config.extra: the annotation standards of a multi-criteria model


def unit_starts(offsets: Sequence[Tuple[int, int]]) -> List[int]:
    """Indices of the tokens that start a new char span. Byte-fallback pieces of one char (an
    emoji is 4 pieces) share that char's span: only the first of them carries a tag."""
    units, prev = [], None
    for i, (s, e) in enumerate(offsets):
        if e > s and (s, e) != prev:
            units.append(i)
        prev = (s, e)
    return units


def char_to_unit_spans(unit_offsets: Sequence[Tuple[int, int]], spans: Sequence[Span]
                       ) -> Tuple[List[Span], List[Span]]:
    """Split char ``spans`` into ``(unit_spans, unalignable)``: a span is alignable when some unit
    starts exactly at its start and some unit ends exactly at its end."""
    starts: Dict[int, int] = {}
    ends: Dict[int, int] = {}
    for i, (s, e) in enumerate(unit_offsets):
        starts.setdefault(s, i)
        ends[e] = i
    good, bad = [], []
    for kind, s, e in spans:
        if s in starts and e in ends and starts[s] <= ends[e]:
            good.append((kind, starts[s], ends[e] + 1))
        else:
            bad.append((kind, s, e))
    return good, bad


def unit_to_char_spans(unit_offsets: Sequence[Tuple[int, int]], spans: Sequence[Span]) -> List[Span]:
    return [(kind, unit_offsets[s][0], unit_offsets[e - 1][1]) for kind, s, e in spans]


def _as_spans(entities: Any, text: str, field: str, types: Sequence[str]) -> List[Span]:
    """Entities given as ``(type, start, end)`` tuples or ``{"type", "start", "end"}`` dicts."""
    if not isinstance(entities, (list, tuple)):
        raise TypeError(f"`{field}` must be a list of entities, got {type(entities).__name__}")
    out = []
    for j, ent in enumerate(entities):
        kind, s, e = (ent.get("type"), ent.get("start"), ent.get("end")) if isinstance(ent, dict) else ent
        if kind not in types:
            raise ValueError(f"`{field}[{j}]` has type {kind!r}; the classifier's types are {list(types)}")
        if isinstance(s, bool) or not isinstance(s, int) or not isinstance(e, int) or not 0 <= s < e <= len(text):
            raise ValueError(f"`{field}[{j}]` span ({s!r}, {e!r}) is not inside the text (length {len(text)})")
        out.append((kind, s, e))
    return out


class TokenClassifier(Pipeline):
    """Fine-tune and run a ``RootsForTokenClassification`` for NER.

    >>> ner = TokenClassifier.from_pretrained("roots-base", labels=["name", "address"])
    >>> ner.fit(texts, entities); ner.predict("彭小军认为，国内银行现在走的是台湾的发卡模式")
    {'text': '彭小军认为，…', 'entities': [{'type': 'name', 'start': 0, 'end': 3, 'text': '彭小军', 'score': 0.98}, …]}

    ``end`` is exclusive: ``text[start:end] == entity["text"]``.
    """

    OUTPUT_FIELDS = ("logits",)

    def __init__(self, model, tokenizer, max_length: int = 128, stride: int = 32, backend=None, config=None,
                 decoding: str = "viterbi", base_model: Optional[str] = None) -> None:
        """``backend``: an object with ``run(feeds) -> [logits]`` (e.g. an inference ``Predictor``, then
        pass its ``config``); ``None`` runs ``model`` in dygraph. ``decoding``: ``"viterbi"`` or ``"argmax"``.
        ``base_model``: what an adapter trained on this pipeline builds on (``from_pretrained`` sets it)."""
        self.decoding = check_choice(decoding, "decoding", DECODINGS)
        super().__init__(model, tokenizer, config, backend, base_model)
        self.max_length = min(check_positive_int(max_length, "max_length"), self.config.max_position_embeddings)
        if self.max_length < 3:
            raise ValueError(f"`max_length` must be >= 3 (two special tokens + text), got {max_length}")
        if isinstance(stride, bool) or not isinstance(stride, int) or stride < 0:
            raise ValueError(f"`stride` must be an int >= 0, got {stride!r}")
        self.stride = stride
        if not self.config.id2label:
            raise ValueError("the model has no tag names (config.id2label); pass `labels=`")
        self.tags = [self.config.id2label[i] for i in range(self.config.num_labels)]
        self.scheme = "BMES" if any(t[:2] in ("M-", "E-", "S-") for t in self.tags) else "BIO"
        self.types = list(dict.fromkeys(t[2:] for t in self.tags if t != "O"))
        if self.tags != tag_names(self.types, self.scheme):
            raise ValueError(f"config.id2label {self.tags} is not a {self.scheme} tag set")
        self._tag_index = {t: i for i, t in enumerate(self.tags)}
        self._criterion: Optional[str] = (self.criteria or [None])[0]

    @property
    def crf_scores(self) -> Optional[np.ndarray]:
        """The learned CRF scores ``[T + 2, T]`` of a CRF-trained model (the live parameter in dygraph,
        the saved copy in the config for exported runtimes); ``None`` for a softmax-trained one."""
        if self.model is not None and getattr(self.model, "crf", None) is not None:
            return self.model.crf.numpy()
        from ..modeling.crf import CRF_SCORES_KEY

        saved = self.config.extra.get(CRF_SCORES_KEY)
        return None if saved is None else np.asarray(saved, dtype=np.float64)

    # ------------------------------------------------------------------ criteria (multi-criteria tagging)
    @property
    def criteria(self) -> List[str]:
        """The annotation standards of a multi-criteria model (``config.extra.criteria``); ``[]`` otherwise."""
        return list(self.config.extra.get(CRITERIA_KEY) or [])

    @property
    def criterion(self) -> Optional[str]:
        """The annotation standard predictions follow (a multi-criteria model, e.g. word segmentation
        trained on several standards); ``None`` for a single-standard model."""
        return self._criterion

    @criterion.setter
    def criterion(self, name: Optional[str]) -> None:
        if not self.criteria:
            if name is not None:
                raise ValueError(f"`criterion`={name!r}: this model was trained on one standard only")
            return
        self._criterion = check_choice(name, "criterion", self.criteria)

    def set_criteria(self, names: Sequence[str]) -> None:
        """Make this (dygraph) model multi-criteria: criterion ``i`` is fed as token type ``i`` (an
        embedding added to every token, as in multi-criteria word segmentation); new type rows start as a
        copy of type 0. The names are saved in the config (``extra.criteria``); the first is the default."""
        import paddle

        names = [str(n) for n in names]
        if not names or len(set(names)) != len(names) or any(not n.strip() for n in names):
            raise ValueError(f"`criteria` must hold >= 1 distinct non-empty names, got {names}")
        self.require_model("set_criteria")
        table = self.model.roots.embeddings.token_type_embeddings
        old = table.weight.numpy()
        if len(names) > old.shape[0]:
            grown = paddle.nn.Embedding(len(names), old.shape[1])
            rows = np.concatenate([old, np.repeat(old[:1], len(names) - old.shape[0], axis=0)])
            grown.weight.set_value(rows.astype(old.dtype))
            self.model.roots.embeddings.token_type_embeddings = grown
            self.config.type_vocab_size = len(names)
        self.config.extra[CRITERIA_KEY] = names
        self._criterion = names[0]

    def _criterion_ids(self, n: int, criteria: Optional[Sequence[str]]) -> List[int]:
        index = {name: i for i, name in enumerate(self.criteria)}
        if criteria is None:
            return [index.get(self._criterion, 0)] * n
        if len(criteria) != n:
            raise ValueError(f"`criteria` has {len(criteria)} items but there are {n} texts")
        bad = next((c for c in criteria if c not in index), None)
        if bad is not None:
            raise ValueError(f"`criteria` item {bad!r} is not one of the model's criteria {self.criteria}")
        return [index[c] for c in criteria]

    @classmethod
    def from_pretrained(cls, name_or_dir: Union[str, os.PathLike] = "roots-base",
                        labels: Optional[Sequence[str]] = None, scheme: str = "BIO",
                        max_length: int = 128, stride: int = 32, backend: str = "dygraph",
                        tokenize_chinese_chars: Optional[bool] = None, normalize: Any = None,
                        decoding: str = "viterbi", crf: bool = False, **inference_options: Any
                        ) -> "TokenClassifier":
        """A registered name or directory; ``labels`` (entity types) start a new head with ``scheme`` tags.
        ``backend="inference"`` runs an exported directory (``export()``) with Paddle Inference.
        ``tokenize_chinese_chars=True`` makes every CJK character its own token (exact character
        boundaries; saved with the tokenizer); ``None`` keeps the directory's setting. ``normalize``:
        input normalisation preset (``"auto"``: traditional script through OpenCC t2s; offsets
        still index the original text). ``crf=True`` gives a new head a linear-chain CRF loss
        (learned transitions, used by Viterbi decoding)."""
        from ..modeling import RootsForTokenClassification
        from ..modeling.crf import CRF_SCORES_KEY

        check_choice(scheme, "scheme", SCHEMES)
        directory, tokenizer, predictor, config = cls.open_pipeline(
            name_or_dir, backend, inference_options, normalize=normalize,
            tokenize_chinese_chars=tokenize_chinese_chars)
        if predictor is not None:
            if labels is not None:
                raise ValueError("`labels` start a new (untrained) head; fine-tune in dygraph, export(), then load")
            return cls(None, tokenizer, max_length, stride, backend=predictor, config=config, decoding=decoding)
        overrides: Dict[str, Any] = {}
        if labels is not None:
            if isinstance(labels, str) or not isinstance(labels, (list, tuple)):
                raise TypeError(f"`labels` must be a list of entity type names, got {type(labels).__name__}")
            types = [str(t) for t in labels]
            if not types or len(set(types)) != len(types) or any(not t.strip() for t in types):
                raise ValueError(f"`labels` must hold >= 1 distinct non-empty type names, got {labels}")
            tags = tag_names(types, scheme)
            overrides = {"num_labels": len(tags), "id2label": dict(enumerate(tags)), "crf": bool(crf)}
        elif crf:
            raise ValueError("`crf=True` starts a new head: pass `labels=` too")
        model = RootsForTokenClassification.from_pretrained(directory, **overrides)
        if labels is not None:  # a new task: drop the source's standards and its saved CRF-score copy
            # (a same-size head keeps the source's classifier and CRF weights, as a continuation does)
            for key in (CRITERIA_KEY, CRF_SCORES_KEY):
                model.config.extra.pop(key, None)
        return cls(model, tokenizer, max_length, stride, decoding=decoding, base_model=str(name_or_dir))

    # ------------------------------------------------------------------ features
    def _features(self, texts: List[str], entities: Optional[List[List[Span]]] = None,
                  truncation: bool = False, criteria: Optional[Sequence[str]] = None
                  ) -> Tuple[List[dict], List[dict], int]:
        """Windowed model features (+ ``labels``), the per-text encodings, and the count of entities
        that cannot be aligned to token edges. ``criteria``: one criterion per text (default: the
        pipeline's ``criterion``), fed as the token type."""
        from ..modeling.masks import IGNORE_INDEX

        cls_id, sep_id = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        size = self.max_length - 2
        type_ids = self._criterion_ids(len(texts), criteria)
        encs = encode_with_offsets(self.tokenizer, texts)
        feats, n_bad, n_cut = [], 0, 0
        for t, enc in enumerate(encs):
            ids = enc["ids"]
            windows = sliding_windows(len(ids), size, self.stride)
            if truncation and len(windows) > 1:
                windows, n_cut = windows[:1], n_cut + 1
            enc["windows"] = windows
            enc["units"] = [u for u in unit_starts(enc["offsets"]) if not windows or u < windows[-1][1]]
            tag_ids = None
            if entities is not None:
                units = enc["units"]
                good, bad = char_to_unit_spans([enc["offsets"][u] for u in units], entities[t])
                n_bad += len(bad)
                tag_ids = [IGNORE_INDEX] * len(ids)  # only the first token of each char span has a tag
                for u, tag in zip(units, spans_to_tags(len(units), good, self.scheme)):
                    tag_ids[u] = self._tag_index[tag]
                for _, s, e in bad:  # tokens touching an unalignable entity: no signal either way
                    for u in units:
                        ts, te = enc["offsets"][u]
                        if ts < e and te > s:
                            tag_ids[u] = IGNORE_INDEX
            for w, (s, e) in enumerate(windows):
                n = e - s + 2
                feat = {"input_ids": [cls_id] + ids[s:e] + [sep_id], "token_type_ids": [type_ids[t]] * n,
                        "attention_mask": [1] * n}
                if tag_ids is not None:
                    feat["labels"] = [IGNORE_INDEX] + tag_ids[s:e] + [IGNORE_INDEX]
                else:
                    feat["_text"], feat["_window"] = t, w
                feats.append(feat)
        if n_cut:
            logger.warning("truncation=True: %d of %d texts are longer than max_length=%d tokens and were cut "
                           "(entities after the cut are not found)", n_cut, len(texts), self.max_length)
        return feats, encs, n_bad

    def alignment_report(self, texts: Sequence[str], entities: Sequence[Any]) -> Dict[str, int]:
        """How many gold entities survive spans → token tags → spans unchanged (``lossless``) and how
        many cannot be expressed on this tokenizer's token edges (``unalignable``)."""
        texts, _ = check_texts(texts, "texts")
        gold = self._check_entities(texts, entities)
        encs = encode_with_offsets(self.tokenizer, texts)
        lossless = bad = 0
        for enc, spans in zip(encs, gold):
            unit_offsets = [enc["offsets"][u] for u in unit_starts(enc["offsets"])]
            good, unal = char_to_unit_spans(unit_offsets, spans)
            tags = spans_to_tags(len(unit_offsets), good, self.scheme)
            back = set(unit_to_char_spans(unit_offsets, tags_to_spans(tags, self.scheme)))
            lossless += len(back & set(spans))
            bad += len(unal)
        return {"entities": sum(len(g) for g in gold), "lossless": lossless, "unalignable": bad}

    def _check_entities(self, texts: List[str], entities: Any) -> List[List[Span]]:
        if entities is None or not isinstance(entities, (list, tuple)) or len(entities) != len(texts):
            raise ValueError("`entities` must be a list with one list of entities per text")
        return [_as_spans(ents, text, f"entities[{i}]", self.types) for i, (text, ents) in enumerate(zip(texts, entities))]

    # ------------------------------------------------------------------ train / evaluate
    def fit(self, texts: Sequence[str], entities: Sequence[Any], eval_texts: Optional[Sequence[str]] = None,
            eval_entities: Optional[Sequence[Any]] = None, criteria: Optional[Sequence[str]] = None,
            **training_args: Any) -> dict:
        """Fine-tune; ``entities[i]`` lists ``(type, start, end)`` (end exclusive) or dicts for
        ``texts[i]``. ``training_args`` are ``TrainingArgs`` fields; the kept metric is entity ``f1``.
        ``criteria``: the annotation standard of each text (names from :meth:`set_criteria`); the
        evaluation runs under the pipeline's ``criterion``."""
        from ..modeling.masks import IGNORE_INDEX
        from ..training.trainer import Trainer, TrainingArgs

        texts, _ = check_texts(texts, "texts")
        gold = self._check_entities(texts, entities)
        features, _, n_bad = self._features(texts, gold, criteria=criteria)
        if n_bad:
            logger.info("%d training entities do not fall on token edges; their tokens are ignored", n_bad)
        evaluate_fn = None
        if eval_texts is not None:
            evaluate_fn = lambda _model: self.evaluate(eval_texts, eval_entities)  # noqa: E731
        training_args.setdefault("metric", "f1")
        pad = {"input_ids": self.tokenizer.pad_token_id, "labels": IGNORE_INDEX}
        from .adapter_support import enable_adapter

        self.require_model("fit")
        enable_adapter(self.model, training_args.pop("adapter", None))  # None | "lora" | "frozen_embeddings"
        return Trainer(self.model, TrainingArgs(**training_args), features, evaluate_fn, pad).train()

    def evaluate(self, texts: Sequence[str], entities: Sequence[Any], batch_size: int = 64) -> Dict[str, float]:
        """Entity-level micro precision/recall/F1: exact (type, start, end) match (CLUENER convention)."""
        texts, _ = check_texts(texts, "texts")
        gold = self._check_entities(texts, entities)
        preds = self.predict(texts, batch_size=batch_size)
        pred_spans = [[(e["type"], e["start"], e["end"]) for e in p["entities"]] for p in preds]
        return {**entity_prf(gold, pred_spans), "n": len(texts)}

    # ------------------------------------------------------------------ predict
    def predict_tag_probs(self, texts: Sequence[str], batch_size: int = 64, truncation: bool = False
                          ) -> Tuple[List[np.ndarray], List[dict]]:
        """Per text: ``[n_tokens, n_tags]`` probabilities (each token from its max-context window)
        and the encoding (``ids``, ``offsets``, ``windows``)."""
        from ..data.collate import pad_batch

        texts, _ = check_texts(texts, "texts")
        check_positive_int(batch_size, "batch_size")
        feats, encs, _ = self._features(texts, truncation=bool(truncation))
        window_probs: List[Optional[np.ndarray]] = [None] * len(feats)
        pad = {"input_ids": self.tokenizer.pad_token_id}

        def run(idx: List[int]) -> None:
            batch = pad_batch([{k: feats[i][k] for k in ("input_ids", "token_type_ids", "attention_mask")}
                               for i in idx], pad)
            probs = softmax(self.backend.run(batch)[0])
            for row, i in enumerate(idx):
                window_probs[i] = probs[row, 1:len(feats[i]["input_ids"]) - 1]

        lengths = [len(f["input_ids"]) for f in feats]
        for idx in sorted_batches(lengths, batch_size, run_overhead=RUN_OVERHEAD_TOKENS):
            run(idx)
        out: List[np.ndarray] = []
        first = 0
        for enc in encs:
            windows = enc["windows"]
            if len(windows) == 1:  # the common case: the text fits one window, which owns every token
                out.append(window_probs[first])
                first += 1
                continue
            n = windows[-1][1] if windows else 0
            probs = np.zeros((n, len(self.tags)), dtype=np.float32)
            owner = max_context_owner(windows, n)
            for w, (s, e) in enumerate(windows):
                mine = owner[s:e] == w
                probs[s:e][mine] = window_probs[first + w][mine]
            first += len(windows)
            out.append(probs)
        return out, encs

    def predict(self, texts: Union[str, Sequence[str]], batch_size: int = 64, truncation: bool = False,
                decoding: Optional[str] = None):
        """A dict for a str, a list for a list: ``{"text", "entities": [{"type", "start", "end",
        "text", "score"}]}`` with char offsets into the original text. Long texts run in sliding
        windows (``max_length``, ``stride``); ``truncation=True`` keeps only the first window (warns).
        ``decoding``: ``"viterbi"`` (the best tag path the scheme allows) or ``"argmax"`` (each
        unit's best tag, repaired leniently); default: the pipeline's ``decoding``."""
        items, single = check_texts(texts, "texts")
        decoding = check_choice(decoding or self.decoding, "decoding", DECODINGS)
        probs_list, encs = self.predict_tag_probs(items, batch_size, truncation)
        unit_probs = [probs[enc["units"]] for probs, enc in zip(probs_list, encs)]  # one row per char span
        if decoding == "viterbi":  # all texts in one lockstep decode
            paths = viterbi_paths(unit_probs, self.tags, self.scheme, crf=self.crf_scores)
        else:
            paths = [probs.argmax(-1) if len(probs) else np.zeros(0, dtype=np.int64) for probs in unit_probs]
        results = []
        for text, probs, enc, best in zip(items, unit_probs, encs, paths):
            unit_offsets = [enc["offsets"][u] for u in enc["units"]]
            unit_spans = tags_to_spans([self.tags[i] for i in best], self.scheme)
            entities = []
            for (kind, s, e), (_, cs, ce) in zip(unit_spans, unit_to_char_spans(unit_offsets, unit_spans)):
                score = float(probs[np.arange(s, e), best[s:e]].mean())
                entities.append({"type": kind, "start": cs, "end": ce, "text": text[cs:ce], "score": round(score, 6)})
            results.append({"text": text, "entities": entities})
        return results[0] if single else results
