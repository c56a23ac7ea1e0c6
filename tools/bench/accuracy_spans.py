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
    the texts run as one batched call (timed: ``sentences_per_s``)."""
    from roots_zh.data.cws import score_segmenter
    from roots_zh.pipelines.word_segmentation import WordSegmenter

    merge = spec.get("merge_dict")  # a word list under the data root (e.g. the MSR training words)
    model, backend = spec["model"], spec.get("backend", "dygraph")
    if backend == "inference":  # the export Taskflow(..., backend="inference") caches under $ROOTS_HOME
        from roots_zh.taskflow import Taskflow

        model = Taskflow._exported(WordSegmenter, model)
    seg = WordSegmenter.from_pretrained(model, mode="accurate", backend=backend,
                                        merge_dict=str(Path(root) / merge) if merge else None)
    metrics = score_segmenter(lambda texts: [out["offsets"] for out in seg.predict(texts)], spec["dataset"],
                              limit=limit, data_root=root, batched=True)
    return {**metrics, "n": metrics["sentences"]}
