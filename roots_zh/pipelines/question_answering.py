"""`QuestionAnswerer`: extractive QA (CMRC 2018 / SQuAD style) with sliding windows over long
contexts, answers as text plus character offsets into the original context, and the official
CMRC 2018 EM/F1 (``roots_zh.metrics.cmrc_em_f1``, a replica of ``cmrc2018_evaluate.py``).

Features are ``[CLS] question [SEP] context-window [SEP]``; the question is cut to
``max_query_length`` tokens and the context is split into windows that share ``doc_stride`` tokens.
Training windows that do not hold the answer point at ``[CLS]`` (index 0), as in BERT's SQuAD v1 recipe.
"""
from __future__ import annotations

import logging
import os
import random
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from ..metrics.cmrc import cmrc_em_f1
from ..utils.validation import check_positive_int, check_texts
from .base import Pipeline
from ..data.collate import RUN_OVERHEAD_TOKENS, sorted_batches
from .windowing import encode_with_offsets, sliding_windows

logger = logging.getLogger(__name__)


# Window settings travel with the model: a QA model trained on 256-token windows should run on them.
WINDOW_FILE = "qa_config.json"
WINDOW_KEYS = ("max_length", "doc_stride", "max_query_length", "max_answer_length", "n_best")


def _logsumexp(x: np.ndarray) -> float:
    m = float(x.max())
    return m + float(np.log(np.exp(x - m).sum()))


class QuestionAnswerer(Pipeline):
    """Fine-tune and run a ``RootsForQuestionAnswering``.

    >>> qa = QuestionAnswerer.from_pretrained("roots-base")
    >>> qa.predict("《战国无双3》是由哪两个公司合作开发的？", context)
    {'question': '…', 'answer': '光荣和ω-force', 'start': 11, 'end': 21, 'score': 0.71}

    ``end`` is exclusive: ``context[start:end] == answer``; no answer found gives ``""`` at 0..0.
    """

    OUTPUT_FIELDS = ("start_logits", "end_logits")
    SETTINGS_FILE = WINDOW_FILE  # save_pretrained/export write them; from_pretrained reads them back

    def __init__(self, model, tokenizer, max_length: int = 384, doc_stride: int = 128,
                 max_query_length: int = 64, max_answer_length: int = 64, n_best: int = 20,
                 backend=None, config=None, base_model: Optional[str] = None) -> None:
        """``backend``: an object with ``run(feeds) -> [start_logits, end_logits]`` (an inference
        ``Predictor``, with its ``config``); ``None`` runs ``model`` in dygraph. ``base_model``: what an
        adapter trained on this pipeline builds on (``from_pretrained`` sets it)."""
        super().__init__(model, tokenizer, config, backend, base_model)
        self.max_length = min(check_positive_int(max_length, "max_length"), self.config.max_position_embeddings)
        self.max_query_length = check_positive_int(max_query_length, "max_query_length")
        if self.max_length < self.max_query_length + 3 + 8:
            raise ValueError(f"`max_length`={self.max_length} leaves < 8 context tokens after "
                             f"`max_query_length`={max_query_length}; raise max_length or lower max_query_length")
        if isinstance(doc_stride, bool) or not isinstance(doc_stride, int) or doc_stride < 0:
            raise ValueError(f"`doc_stride` must be an int >= 0, got {doc_stride!r}")
        self.doc_stride = doc_stride
        self.max_answer_length = check_positive_int(max_answer_length, "max_answer_length")  # chars
        self.n_best = check_positive_int(n_best, "n_best")

    @classmethod
    def from_pretrained(cls, name_or_dir: Union[str, os.PathLike] = "roots-base", backend: str = "dygraph",
                        normalize: Any = None, tokenize_chinese_chars: Optional[bool] = None,
                        **kwargs: Any) -> "QuestionAnswerer":
        """A registered name or directory; ``kwargs`` are the constructor's (max_length, doc_stride, …)
        and, with ``backend="inference"`` (an exported directory), ``Predictor`` options. ``normalize``:
        input normalisation preset (``"auto"``: traditional script through OpenCC t2s; answers and
        offsets still refer to the original context). ``tokenize_chinese_chars=True``: every CJK
        character its own token, so any character span can be an answer (saved with the tokenizer)."""
        from ..modeling import RootsForQuestionAnswering

        own = {k: kwargs.pop(k) for k in WINDOW_KEYS if k in kwargs}
        directory, tokenizer, predictor, config = cls.open_pipeline(
            name_or_dir, backend, kwargs, normalize=normalize, tokenize_chinese_chars=tokenize_chinese_chars)
        own = {**cls.saved_settings(directory, WINDOW_KEYS), **own}
        if predictor is not None:
            return cls(None, tokenizer, **own, backend=predictor, config=config)
        return cls(RootsForQuestionAnswering.from_pretrained(directory), tokenizer, **own,
                   base_model=str(name_or_dir))

    def pipeline_settings(self) -> Dict[str, int]:
        return {k: getattr(self, k) for k in WINDOW_KEYS}

    # ------------------------------------------------------------------ features
    def _pairs(self, questions: Any, contexts: Any) -> tuple:
        qs, single_q = check_texts(questions, "questions")
        cs, single_c = check_texts(contexts, "contexts")
        if single_q != single_c:
            raise TypeError("`questions` and `contexts` must both be a str or both be lists")
        if len(qs) != len(cs):
            raise ValueError(f"`questions` has {len(qs)} items but `contexts` has {len(cs)}")
        return qs, cs, single_q

    def _features(self, questions: List[str], contexts: List[str],
                  answer_spans: Optional[List[Optional[tuple]]] = None,
                  negative_windows: float = 1.0, seed: int = 0) -> tuple:
        """Windowed features; with ``answer_spans`` (char ``(start, end)`` or None) adds
        ``start_positions``/``end_positions`` and keeps a seeded ``negative_windows`` fraction of the
        windows that do not hold the answer. Returns (features, context encodings)."""
        rng = random.Random(seed)
        cls_id, sep_id = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        q_encs = encode_with_offsets(self.tokenizer, questions)
        c_encs = encode_with_offsets(self.tokenizer, contexts)
        feats = []
        for t, (q, c) in enumerate(zip(q_encs, c_encs)):
            q_ids = q["ids"][: self.max_query_length]
            size = self.max_length - len(q_ids) - 3
            windows = sliding_windows(len(c["ids"]), size, self.doc_stride)
            c["windows"], c["q_len"] = windows, len(q_ids)
            target = None
            if answer_spans is not None:
                if answer_spans[t] is None:
                    continue
                a, b = answer_spans[t]
                covering = [i for i, (s, e) in enumerate(c["offsets"]) if s < b and e > a]
                if not covering:
                    continue
                target = (covering[0], covering[-1])
            head = [cls_id] + q_ids + [sep_id]
            for w, (s, e) in enumerate(windows):
                ids = head + c["ids"][s:e] + [sep_id]
                feat = {"input_ids": ids, "token_type_ids": [0] * len(head) + [1] * (e - s + 1),
                        "attention_mask": [1] * len(ids)}
                if target is not None:
                    inside = s <= target[0] and target[1] < e
                    if not inside and negative_windows < 1.0 and rng.random() >= negative_windows:
                        continue
                    feat["start_positions"] = target[0] - s + len(head) if inside else 0
                    feat["end_positions"] = target[1] - s + len(head) if inside else 0
                else:
                    feat["_example"], feat["_window"] = t, w
                feats.append(feat)
        return feats, c_encs

    # ------------------------------------------------------------------ train / evaluate
    def fit(self, questions: Sequence[str], contexts: Sequence[str], answers: Sequence[str],
            answer_starts: Optional[Sequence[int]] = None, eval_questions: Optional[Sequence[str]] = None,
            eval_contexts: Optional[Sequence[str]] = None, eval_answers: Optional[Sequence[Sequence[str]]] = None,
            negative_windows: float = 1.0, **training_args: Any) -> dict:
        """Fine-tune on one answer per question. ``answer_starts`` (char offsets) pick the occurrence;
        when missing, -1 or wrong, the first occurrence of the text is used and questions whose answer
        is not in the context are skipped (counted in the log). ``negative_windows``: the fraction of
        answer-less windows of long contexts kept for training (1.0 = all; fewer trains faster). The
        kept metric is CMRC ``f1``."""
        from ..training.trainer import Trainer, TrainingArgs

        qs, cs, _ = self._pairs(questions, contexts)
        answers, _ = check_texts(answers, "answers")
        if len(answers) != len(qs):
            raise ValueError(f"`answers` has {len(answers)} items but there are {len(qs)} questions")
        if answer_starts is not None and len(answer_starts) != len(qs):
            raise ValueError(f"`answer_starts` has {len(answer_starts)} items but there are {len(qs)} questions")
        spans: List[Optional[tuple]] = []
        for i, (ctx, ans) in enumerate(zip(cs, answers)):
            start = answer_starts[i] if answer_starts is not None else -1
            if not (isinstance(start, int) and start >= 0 and ans and ctx[start:start + len(ans)] == ans):
                start = ctx.find(ans) if ans else -1
            spans.append((start, start + len(ans)) if start >= 0 else None)
        n_missing = sum(s is None for s in spans)
        if n_missing:
            logger.warning("%d of %d training answers do not occur in their context; skipped", n_missing, len(qs))
        if not (isinstance(negative_windows, (int, float)) and 0.0 <= negative_windows <= 1.0):
            raise ValueError(f"`negative_windows` must be a number in [0, 1], got {negative_windows!r}")
        features, _ = self._features(qs, cs, spans, negative_windows, training_args.get("seed", 42))
        logger.info("%d training windows from %d questions", len(features), len(qs))
        evaluate_fn = None
        if eval_questions is not None:
            evaluate_fn = lambda _model: self.evaluate(eval_questions, eval_contexts, eval_answers)  # noqa: E731
        training_args.setdefault("metric", "f1")
        pad = {"input_ids": self.tokenizer.pad_token_id}
        from .adapter_support import enable_adapter

        self.require_model("fit")
        enable_adapter(self.model, training_args.pop("adapter", None))  # None | "lora" | "frozen_embeddings"
        return Trainer(self.model, TrainingArgs(**training_args), features, evaluate_fn, pad).train()

    def evaluate(self, questions: Sequence[str], contexts: Sequence[str], answers: Sequence[Sequence[str]],
                 batch_size: int = 32) -> Dict[str, float]:
        """Official CMRC 2018 EM and F1 (0..100), max over each question's gold answers."""
        qs, cs, _ = self._pairs(questions, contexts)
        if answers is None or len(answers) != len(qs):
            raise ValueError("`answers` must hold one list of gold answer texts per question")
        gold = {}
        for i, golds in enumerate(answers):
            golds = [golds] if isinstance(golds, str) else golds
            if not golds or not all(isinstance(g, str) for g in golds):
                raise ValueError(f"`answers[{i}]` must be a non-empty list of str")
            gold[str(i)] = list(golds)
        preds = self.predict(qs, cs, batch_size=batch_size)
        return cmrc_em_f1(gold, {str(i): p["answer"] for i, p in enumerate(preds)})

    # ------------------------------------------------------------------ predict
    def predict(self, questions: Union[str, Sequence[str]], contexts: Union[str, Sequence[str]],
                batch_size: int = 32):
        """A dict for a str pair, a list for lists: ``{"question", "answer", "start", "end", "score"}``.
        The best ``start <= end`` pair over all windows (by start+end logit), at most
        ``max_answer_length`` chars; ``score`` is that pair's start×end probability in its window."""
        from ..data.collate import pad_batch

        qs, cs, single = self._pairs(questions, contexts)
        check_positive_int(batch_size, "batch_size")
        feats, encs = self._features(qs, cs)
        best: List[dict] = [{"answer": "", "start": 0, "end": 0, "score": 0.0, "_logit": -np.inf} for _ in qs]
        fields = ("input_ids", "token_type_ids", "attention_mask")

        def run(idx: List[int]) -> None:
            batch = pad_batch([{k: feats[i][k] for k in fields} for i in idx], {"input_ids": self.tokenizer.pad_token_id})
            starts, ends = (x.astype(np.float32) for x in self.backend.run(batch))
            for row, i in enumerate(idx):
                n = len(feats[i]["input_ids"])
                self._best_in_window(feats[i], starts[row, :n], ends[row, :n], encs, cs, best)

        lengths = [len(f["input_ids"]) for f in feats]
        for idx in sorted_batches(lengths, batch_size, run_overhead=RUN_OVERHEAD_TOKENS):
            run(idx)
        results = [{"question": q, **{k: v for k, v in b.items() if k != "_logit"}} for q, b in zip(qs, best)]
        return results[0] if single else results

    def _best_in_window(self, feat: dict, start_logits: np.ndarray, end_logits: np.ndarray,
                        encs: List[dict], contexts: List[str], best: List[dict]) -> None:
        t, w = feat["_example"], feat["_window"]
        enc = encs[t]
        win_start, win_end = enc["windows"][w]
        first = enc["q_len"] + 2  # first context position in the feature
        ctx_start, ctx_end = start_logits[first:first + win_end - win_start], end_logits[first:first + win_end - win_start]
        log_zs, log_ze = _logsumexp(start_logits), _logsumexp(end_logits)
        k = min(self.n_best, len(ctx_start))
        for i in np.argsort(-ctx_start)[:k]:
            for j in np.argsort(-ctx_end)[:k]:
                if j < i:
                    continue
                a, b = enc["offsets"][win_start + i][0], enc["offsets"][win_start + j][1]
                if b - a > self.max_answer_length:
                    continue
                logit = float(ctx_start[i] + ctx_end[j])
                if logit > best[t]["_logit"]:
                    score = float(np.exp(logit - log_zs - log_ze))
                    best[t] = {"answer": contexts[t][a:b], "start": int(a), "end": int(b),
                               "score": round(score, 6), "_logit": logit}
