"""Taskflow and the `roots-zh` command: registry lookup, plain-dict results, clear errors."""
import json
import subprocess
import sys

import pytest

from roots_zh import Taskflow
from roots_zh.hub import load_registry
from roots_zh.taskflow import TASKS


def test_every_task_is_listed_with_usage():
    expected = {"sentiment_analysis", "text_classification", "ner", "question_answering", "summarization",
                "translation", "word_segmentation", "fill_mask"}
    assert expected <= set(Taskflow.tasks())
    for name, spec in TASKS.items():
        assert name in spec.usage and ":" in spec.pipeline


def test_word_segmentation_str_and_list():
    seg = Taskflow("word_segmentation")
    one = seg("结巴中文分词")
    assert one["words"] == ["结巴", "中文", "分词"]
    assert [one["text"][s:e] for s, e in one["offsets"]] == one["words"]
    many = seg(["我爱北京", ""])
    assert isinstance(many, list) and many[1]["words"] == []
    assert Taskflow("word_segmentation", mode="search")("中华人民共和国")["words"][0] != "中华人民共和国"


@pytest.mark.skipif("roots-base" not in load_registry(), reason="roots-base not shipped")
def test_fill_mask_batches_like_single_calls():
    flow = Taskflow("fill_mask", batch_size=2, top_k=3)
    texts = ["中国的首都是北[MASK]。", "今天天气很[MASK]，我们去公园[MASK]步。", "没有掩码的句子"]
    batched = flow(texts)
    assert [len(r["predictions"]) for r in batched] == [1, 2, 0]
    for text, row in zip(texts, batched):
        single = flow(text)
        assert [[p["token"] for p in ps] for ps in single["predictions"]] == \
               [[p["token"] for p in ps] for ps in row["predictions"]]


def test_bad_arguments_name_the_field():
    with pytest.raises(ValueError, match="task"):
        Taskflow("sentiment")
    with pytest.raises(ValueError, match="batch_size"):
        Taskflow("word_segmentation", batch_size=0)
    with pytest.raises(ValueError, match="device"):
        Taskflow("word_segmentation", device="tpu")
    with pytest.raises(ValueError, match="mode"):
        Taskflow("word_segmentation", mode="turbo")
    with pytest.raises((ValueError, TypeError), match="texts"):
        Taskflow("word_segmentation")(None)
    with pytest.raises(ValueError, match="name_or_dir"):
        Taskflow("fill_mask", model="no-such-model")


def test_cli_reads_an_input_file(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("结巴中文分词\n\n我爱北京天安门\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "roots_zh.cli", "word_segmentation", "--input", str(path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [json.loads(line) for line in out.stdout.strip().splitlines()]
    assert [r["text"] for r in rows] == ["结巴中文分词", "我爱北京天安门"]
    bad = subprocess.run([sys.executable, "-m", "roots_zh.cli", "fill_mask", "x", "--model", "nope"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "nope" in bad.stderr


def test_inference_backend_exports_once_and_matches_dygraph(tmp_path, monkeypatch):
    from roots_zh.pipelines.text_classification import TextClassifier

    if "roots-base" not in load_registry():
        pytest.skip("roots-base not shipped")
    monkeypatch.setenv("ROOTS_HOME", str(tmp_path / "home"))
    clf = TextClassifier.from_pretrained("roots-base", labels=["负面", "正面"], max_length=32)
    model_dir = clf.save_pretrained(tmp_path / "clf")
    texts = ["这家酒店服务很好", "太难吃了，再也不来", "还行吧"]
    dygraph = Taskflow("sentiment_analysis", model=str(model_dir))(texts)
    flow = Taskflow("sentiment_analysis", model=str(model_dir), backend="inference")
    exported = list((tmp_path / "home" / "inference").iterdir())
    assert len(exported) == 1 and (exported[0] / "inference.json").is_file()
    for a, b in zip(dygraph, flow(texts)):
        assert a["label"] == b["label"] and abs(a["score"] - b["score"]) < 1e-4
    Taskflow("sentiment_analysis", model=str(model_dir), backend="inference")  # reuses the cache
    direct = TextClassifier.from_pretrained(model_dir, backend="inference")  # a checkpoint: the same cache
    assert direct.runtime == "inference" and direct.model is None
    assert [r["label"] for r in direct.predict(texts)] == [r["label"] for r in dygraph]
    assert len(list((tmp_path / "home" / "inference").iterdir())) == 1
    with pytest.raises(ValueError, match="backend"):
        Taskflow("word_segmentation", backend="inference")


@pytest.mark.skipif("roots-base" not in load_registry(), reason="roots-base not shipped")
def test_fill_mask_on_paddle_inference_matches_dygraph(tmp_path, monkeypatch):
    monkeypatch.setenv("ROOTS_HOME", str(tmp_path / "home"))
    text = ["中国的首都是北[MASK]。", "今天天气很[MASK]"]
    slow, fast = Taskflow("fill_mask", top_k=3)(text), Taskflow("fill_mask", top_k=3, backend="inference")(text)
    for a, b in zip(slow, fast):
        assert [[p["token"] for p in ps] for ps in a["predictions"]] == [[p["token"] for p in ps] for ps in b["predictions"]]


@pytest.mark.skipif("roots-ner" not in load_registry(), reason="roots-ner not shipped")
def test_onnx_backend_runs_an_int8_copy_of_the_export(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("paddle2onnx")
    monkeypatch.setenv("ROOTS_HOME", str(tmp_path / "home"))
    texts = ["马云在杭州创办了阿里巴巴集团。", "李白出生于碎叶城。", "没有实体的句子"]
    reference = Taskflow("ner", backend="inference")(texts)
    flow = Taskflow("ner", backend="onnx")
    assert flow.backend == "onnx" and flow.pipeline.runtime == "onnx"
    (exported,) = list((tmp_path / "home" / "inference").iterdir())
    assert (exported / "model.int8.onnx").is_file()
    for a, b in zip(reference, flow(texts)):  # INT8 weights: the same spans, scores close
        assert [(e["type"], e["start"], e["end"]) for e in a["entities"]] == \
               [(e["type"], e["start"], e["end"]) for e in b["entities"]]
        assert all(abs(x["score"] - y["score"]) < 0.05 for x, y in zip(a["entities"], b["entities"]))
    with pytest.raises(ValueError, match="backend"):
        Taskflow("translation", backend="onnx")  # the decoders have no ONNX runtime
