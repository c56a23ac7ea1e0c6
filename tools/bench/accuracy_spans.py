"""NER (entity F1) and extractive QA (official CMRC 2018 EM/F1) evaluators for `accuracy`."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional


def to_traditional(texts: list) -> list:
    """OpenCC s2t copies of ``texts`` (a text whose length would change is kept as it is, so gold
    character spans stay valid); the traditional-script check of ``"script": "traditional"`` specs."""
    from roots_zh.tokenization.normalize import opencc_converter

    conv = opencc_converter("s2t")
    out = []
    for text in texts:
        converted = conv.convert(text)
        out.append(converted if len(converted) == len(text) else text)
    return out


def eval_ner(spec: dict, root: Path, limit: Optional[int]) -> Dict[str, float]:
    """Entity F1 through the pipeline as ``Taskflow("ner")`` builds it (``normalize="auto"``:
    traditional script is converted, offsets refer to the input)."""
    from roots_zh.data.ner_qa import load_ner_set
    from roots_zh.pipelines.token_classification import TokenClassifier

    examples, _ = load_ner_set(root, spec["dataset"], spec["split"])
    examples = examples[:limit] if limit else examples
    texts = [e.text for e in examples]
    if spec.get("script") == "traditional":
        texts = to_traditional(texts)
    ner = TokenClassifier.from_pretrained(spec["model"], normalize="auto")
    return ner.evaluate(texts, [e.entities for e in examples])


def eval_qa(spec: dict, root: Path, limit: Optional[int]) -> Dict[str, float]:
    from roots_zh.data.ner_qa import load_qa_set
    from roots_zh.pipelines.question_answering import QuestionAnswerer

    examples, _ = load_qa_set(root, spec["dataset"], spec["split"])
    examples = examples[:limit] if limit else examples
    questions, contexts = [e.question for e in examples], [e.context for e in examples]
    answers = [e.answers for e in examples]
    if spec.get("script") == "traditional":  # gold answers read from the converted context where located
        questions, contexts = to_traditional(questions), to_traditional(contexts)
        answers = [list(e.answers) if ctx == e.context else  # a context kept as it was keeps its answers
                   [ctx[s:s + len(a)] if s >= 0 and e.context[s:s + len(a)] == a else to_traditional([a])[0]
                    for a, s in zip(e.answers, e.answer_starts)]
                   for e, ctx in zip(examples, contexts)]
    qa = QuestionAnswerer.from_pretrained(spec["model"], normalize="auto")  # as Taskflow builds it
    metrics = qa.evaluate(questions, contexts, answers)
    return {**metrics, "n": len(examples)}


def eval_cws(spec: dict, root: Path, limit: Optional[int]) -> Dict[str, float]:
    """The neural segmenter (``accurate`` mode) on a SIGHAN 2005 gold test set, bakeoff scoring;
    the texts run as one batched call (timed: ``sentences_per_s``). ``"backend"`` in the spec picks
    the runtime (default: the segmenter's, Paddle Inference); each of ``"compare_backends"`` runs the
    same texts in the same process after it and adds ``<backend>_sentences_per_s``, ``<backend>_f1``
    and ``<backend>_differing_sentences`` (sentences whose word offsets differ from the main run)."""
    from roots_zh.data.cws import score_segmenter
    from roots_zh.pipelines.word_segmentation import WordSegmenter

    merge = spec.get("merge_dict")  # a word list under the data root (e.g. the MSR training words)
    offsets: Dict[str, list] = {}

    def score(backend: Optional[str], key: str) -> Dict[str, float]:
        seg = WordSegmenter.from_pretrained(spec["model"], mode="accurate", backend=backend,
                                            merge_dict=str(Path(root) / merge) if merge else None,
                                            standard=spec.get("standard"))

        def segment(texts):
            offsets[key] = [out["offsets"] for out in seg.predict(texts)]  # the last call: all texts
            return offsets[key]

        precision = getattr(getattr(seg.tagger, "backend", None), "precision", None)  # Paddle Inference's
        return {**score_segmenter(segment, spec["dataset"], limit=limit, data_root=root, batched=True),
                "backend": f"{seg.runtime} {precision}" if precision else seg.runtime}

    metrics = score(spec.get("backend"), "main")
    for other in spec.get("compare_backends", []):
        extra = score(other, other)
        metrics[f"{other}_sentences_per_s"] = extra["sentences_per_s"]
        metrics[f"{other}_f1"] = extra["f1"]
        metrics[f"{other}_differing_sentences"] = sum(a != b for a, b in zip(offsets["main"], offsets[other]))
    return {**metrics, "n": metrics["sentences"]}
