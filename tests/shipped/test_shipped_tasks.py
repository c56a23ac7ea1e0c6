"""Every Taskflow task runs end to end on its shipped model (no download), returns plain dicts whose
offsets index the input, and the headline classifier is accurate on real held-out data."""
import json
import subprocess
import sys

import pytest

from tests.conftest import shared_data
from roots_zh import Taskflow
from roots_zh.hub import load_registry
from roots_zh.taskflow import TASKS

REGISTRY = load_registry()


def shipped(task):
    model = TASKS[task].default_model
    return pytest.mark.skipif(model is not None and model not in REGISTRY, reason=f"{model} not shipped")


@shipped("sentiment_analysis")
def test_sentiment_main_job_command():
    out = subprocess.run([sys.executable, "-m", "roots_zh.cli", "sentiment_analysis", "这家酒店服务很好，房间也干净"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    row = json.loads(out.stdout.strip().splitlines()[-1])
    assert row["label"] in ("负面", "正面") and 0.5 <= row["score"] <= 1.0


@shipped("sentiment_analysis")
def test_sentiment_is_accurate_on_real_test_reviews():
    from roots_zh.data.readers import load_classification_set

    examples, _ = load_classification_set(shared_data(), "chnsenticorp", "test")
    examples = examples[:300]
    flow = Taskflow("sentiment_analysis", batch_size=64)
    preds = flow([e.text for e in examples])
    gold = [{"0": "负面", "1": "正面"}[e.label] for e in examples]
    accuracy = sum(p["label"] == g for p, g in zip(preds, gold)) / len(gold)
    assert accuracy >= 0.85, accuracy  # full test set: see tasks/chnsenticorp/README.md


@shipped("text_classification")
def test_news_topics():
    labels = set(Taskflow("text_classification").pipeline.labels)
    rows = Taskflow("text_classification")(["国足出线形势分析", "苹果发布新款手机", ""])
    assert len(rows) == 3 and all(r["label"] in labels for r in rows)


@shipped("text_similarity")
def test_text_similarity_pairs():
    """The README example: a paraphrase is similar, an unrelated question is not."""
    rows = Taskflow("text_similarity")([["花呗怎么还款", "花呗如何还钱"], ["花呗怎么还款", "今天天气怎么样"]])
    assert [r["label"] for r in rows] == ["1", "0"] and rows[0]["similarity"] > rows[1]["similarity"]
    one = Taskflow("text_similarity")(["花呗怎么还款", "花呗如何还钱"])
    assert one["text2"] == "花呗如何还钱" and one["label"] == "1"
    with pytest.raises(ValueError, match="pair"):
        Taskflow("text_similarity")(["only one"])


@shipped("ner")
def test_ner_offsets_index_the_input():
    texts = ["李白出生于碎叶城，后来去了长安。", "", "北京大学的张三去了上海" * 40]
    for text, row in zip(texts, Taskflow("ner")(texts)):
        for ent in row["entities"]:
            assert text[ent["start"]:ent["end"]] == ent["text"] and ent["type"]


@shipped("ner")
def test_default_ner_finds_person_place_and_organisation():
    """The README example: the general PER/LOC/ORG model, in simplified and traditional script."""
    for text in ("马云在杭州创办了阿里巴巴集团。", "馬雲在杭州創辦了阿里巴巴集團。"):
        found = {(e["text"], e["type"]) for e in Taskflow("ner")(text)["entities"]}
        assert {(text[0:2], "PER"), ("杭州", "LOC"), (text[8:14], "ORG")} <= found, found


@pytest.mark.parametrize("mode, model", [("accurate", "roots-cws"), ("fast", "roots-cws-small")])
def test_neural_word_segmentation_on_the_shipped_models(mode, model):
    if model not in REGISTRY:
        pytest.skip(f"{model} not shipped")
    seg = Taskflow("word_segmentation", mode=mode)
    assert seg.model == model
    text = "他说：改革开放以来，中国经济快速发展。我們在臺灣學習中文。"
    row = seg(text)
    assert "".join(row["words"]) == text and all(text[s:e] == w for w, (s, e) in zip(row["words"], row["offsets"]))
    assert {"经济", "发展", "學習", "中文"} <= set(row["words"])  # traditional words come back as written
    forced = Taskflow("word_segmentation", mode=mode, user_dict=["快速发展"])(text)
    assert "快速发展" in forced["words"]
    other = "fast" if mode == "accurate" else "accurate"
    with pytest.raises(ValueError, match=f"mode={other!r}"):
        seg.pipeline.predict(text, mode=other)  # one segmenter holds one neural model


@shipped("question_answering")
def test_question_answering_span_is_in_the_context():
    context = "李白（701年－762年），字太白，号青莲居士，唐朝浪漫主义诗人，出生于碎叶城。" * 5
    row = Taskflow("question_answering")({"question": "李白出生在哪里？", "context": context})
    assert context[row["start"]:row["end"]] == row["answer"] == "碎叶城"
    traditional = "李白出生於碎葉城，是唐朝著名詩人。"  # answered in the user's script, offsets into it
    row = Taskflow("question_answering")({"question": "李白出生在哪裡？", "context": traditional})
    assert traditional[row["start"]:row["end"]] == row["answer"] == "碎葉城"
    with pytest.raises(ValueError, match="question"):
        Taskflow("question_answering")([{"context": "x"}])


@shipped("summarization")
def test_summarization_returns_text():
    source = "今天，国家统计局发布了最新数据，全国居民消费价格同比上涨百分之二。"
    rows = Taskflow("summarization")([source, "短"])
    summary = rows[0]["summary"]
    assert len(rows) == 2 and 4 <= len(summary) < len(source)
    assert "国家统计局" in summary or "消费价格" in summary  # the news itself, not filler
    assert sum(ch in source for ch in summary) >= 0.8 * len(summary)  # headline words come from the story
    assert not any(a == b == c for r in rows for a, b, c in zip(r["summary"], r["summary"][1:], r["summary"][2:]))


@shipped("translation")
def test_translation_returns_text():
    rows = Taskflow("translation")(["我喜欢学习中文。", "這本書很有意思。"])  # traditional input is normalised
    assert rows[0]["translation"] == "I like studying Chinese." and "book" in rows[1]["translation"]
