"""The one task registry: every Taskflow task (its pipeline class, default shipped model, usage and
input kind), read by ``Taskflow``, the CLI and the server, and ``HEAD_TASKS``, the task name that
``export_model`` writes into a manifest for each model head. Add a task here (see ARCHITECTURE.md)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional


@dataclass(frozen=True)
class TaskSpec:
    pipeline: str  # "module:Class"
    default_model: Optional[str]  # registered name; None for model-free tasks (jieba)
    usage: str
    input_kind: str = "text"  # "text" or "qa" ({"question", "context"} dicts)
    #: ``mode=`` values that need a shipped model when none is named (word_segmentation "accurate", "fast")
    mode_models: Optional[Dict[str, str]] = None


TASKS: Dict[str, TaskSpec] = {
    "sentiment_analysis": TaskSpec(
        "roots_zh.pipelines.text_classification:TextClassifier", "roots-sentiment",
        'Taskflow("sentiment_analysis")("这家酒店服务很好") -> {"text": ..., "label": "正面", "score": 0.97}'),
    "text_classification": TaskSpec(
        "roots_zh.pipelines.text_classification:TextClassifier", "roots-tnews",
        'Taskflow("text_classification")("国足出线形势分析") -> {"text": ..., "label": "news_sports", ...} '
        "(TNEWS news-title topics)"),
    "text_similarity": TaskSpec(
        "roots_zh.pipelines.text_similarity:TextSimilarity", "roots-similarity",
        'Taskflow("text_similarity")([["花呗怎么还款", "花呗如何还钱"]]) -> [{"text1": ..., "text2": ..., '
        '"similarity": 0.72, "label": "1"}] (cosine of sentence vectors; label "1" = similar)',
        input_kind="pair"),
    "ner": TaskSpec(
        "roots_zh.pipelines.token_classification:TokenClassifier", "roots-ner",
        'Taskflow("ner")("马云在杭州创办了阿里巴巴集团。") -> {"text": ..., "entities": [{"type": "PER", "start": 0, '
        '"end": 2, "text": "马云", ...}, ...]} (PER/LOC/ORG; model="roots-cluener" for 10 fine-grained types)'),
    "question_answering": TaskSpec(
        "roots_zh.pipelines.question_answering:QuestionAnswerer", "roots-cmrc2018",
        'Taskflow("question_answering")({"question": "李白出生在哪里？", "context": "李白出生于碎叶城。"}) '
        '-> {"answer": "碎叶城", "start": 5, "end": 8, "score": ...}', input_kind="qa"),
    "summarization": TaskSpec(
        "roots_zh.pipelines.summarization:Summarizer", "roots-summarize",
        'Taskflow("summarization")("<a news paragraph>") -> {"text": ..., "summary": ...} '
        '(a headline-style summary; trained on news headlines, LCSTS and CSL titles)'),
    "translation": TaskSpec(
        "roots_zh.pipelines.translation:Translator", "roots-translate",
        'Taskflow("translation")("我爱自然语言处理。") -> {"text": ..., "translation": ...} '
        '(Chinese to English and English to Chinese: the source\'s language picks the way)'),
    "word_segmentation": TaskSpec(
        "roots_zh.pipelines.word_segmentation:WordSegmenter", None,
        'Taskflow("word_segmentation")("结巴中文分词") -> {"text": ..., "words": ["结巴", "中文", "分词"], ...} '
        '(jieba; mode="accurate" for the neural roots-cws, mode="fast" for its small student roots-cws-small)',
        mode_models={"accurate": "roots-cws", "fast": "roots-cws-small"}),
    "fill_mask": TaskSpec(
        "roots_zh.pipelines.fill_mask:FillMask", "roots-base",
        'Taskflow("fill_mask")("中国的首都是北[MASK]。") -> {"text": ..., "predictions": [[{"token": ..., '
        '"score": ...}]]}'),
}

# model head -> the task name written in an exported model's manifest (``inference.json``)
HEAD_TASKS: Dict[str, str] = {"RootsForSequenceClassification": "sequence_classification",
                              "RootsForTokenClassification": "token_classification",
                              "RootsForQuestionAnswering": "question_answering", "RootsForMaskedLM": "fill_mask",
                              "RootsForSentenceEmbedding": "sentence_embedding",
                              "RootsModel": "feature_extraction"}
