"""NER (entity F1) and extractive QA (official CMRC 2018 EM/F1) evaluators for `accuracy`."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional


def eval_ner(spec: dict, root: Path, limit: Optional[int]) -> Dict[str, float]:
    from roots_zh.data.ner_qa import load_ner_set
    from roots_zh.pipelines.token_classification import TokenClassifier

    examples, _ = load_ner_set(root, spec["dataset"], spec["split"])
    examples = examples[:limit] if limit else examples
    ner = TokenClassifier.from_pretrained(spec["model"])
    return ner.evaluate([e.text for e in examples], [e.entities for e in examples])


def eval_qa(spec: dict, root: Path, limit: Optional[int]) -> Dict[str, float]:
    from roots_zh.data.ner_qa import load_qa_set
    from roots_zh.pipelines.question_answering import QuestionAnswerer

    examples, _ = load_qa_set(root, spec["dataset"], spec["split"])
    examples = examples[:limit] if limit else examples
    qa = QuestionAnswerer.from_pretrained(spec["model"])
    metrics = qa.evaluate([e.question for e in examples], [e.context for e in examples], [e.answers for e in examples])
    return {**metrics, "n": len(examples)}
