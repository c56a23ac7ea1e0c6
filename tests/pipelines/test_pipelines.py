"""TextClassifier: learns a real signal, survives bad input, round-trips through save/load."""
import numpy as np
import pytest

paddle = pytest.importorskip("paddle")

from roots_zh.modeling import RootsConfig, RootsForSequenceClassification  # noqa: E402
from roots_zh.pipelines.text_classification import TextClassifier  # noqa: E402
from roots_zh.tokenization.bert_chinese import BertChineseTokenizer  # noqa: E402

POS = ["服务很好", "房间干净", "非常满意", "值得推荐", "环境不错", "早餐丰盛", "位置方便", "性价比高"]
NEG = ["服务很差", "房间太脏", "非常失望", "不会再来", "环境吵闹", "早餐难吃", "位置偏僻", "价格太贵"]


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    chars = sorted({c for t in POS + NEG for c in t} | set("，。！这家酒店的"))
    path = tmp_path_factory.mktemp("tok") / "vocab.txt"
    path.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + chars) + "\n", encoding="utf-8")
    return BertChineseTokenizer(str(path))


def make_classifier(tokenizer, max_length=32):
    paddle.seed(0)
    cfg = RootsConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                      intermediate_size=64, max_position_embeddings=64, num_labels=2,
                      id2label={0: "负面", 1: "正面"})
    return TextClassifier(RootsForSequenceClassification(cfg), tokenizer, max_length=max_length)


def toy_data(n, seed):
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        positive = bool(rng.integers(2))
        words = rng.choice(POS if positive else NEG, 2)
        texts.append("这家酒店" + "，".join(words) + "。")
        labels.append("正面" if positive else "负面")
    return texts, labels


def test_fit_learns_and_roundtrips(tokenizer, tmp_path):
    clf = make_classifier(tokenizer)
    train_x, train_y = toy_data(256, 0)
    test_x, test_y = toy_data(64, 1)
    before = clf.evaluate(test_x, test_y)["accuracy"]
    summary = clf.fit(train_x, train_y, eval_texts=test_x, eval_labels=test_y, epochs=4, batch_size=16,
                      learning_rate=3e-3, eval_every=16)
    after = clf.evaluate(test_x, test_y)["accuracy"]
    assert after >= 0.95 and after > before, (before, after, summary["best"])
    out = clf.predict("这家酒店服务很好，非常满意。", return_all_scores=True)
    assert out["label"] == "正面" and set(out["scores"]) == {"正面", "负面"}
    clf.save_pretrained(tmp_path)
    again = TextClassifier.from_pretrained(tmp_path)
    np.testing.assert_allclose(again.predict_proba(test_x), clf.predict_proba(test_x), atol=1e-5)
    assert again.labels == ["负面", "正面"]


def test_predict_shapes_and_bad_inputs(tokenizer):
    clf = make_classifier(tokenizer)
    assert isinstance(clf.predict("好"), dict)
    assert isinstance(clf.predict(["好", "差"]), list)
    assert clf.predict([]) == []
    for text in ["", "   ", "😀👍", "這家酒店服務很好", "a\ud800b", "\x00\u200b", "好" * 200_000]:
        res = clf.predict(text)  # a defined result, never a crash
        assert res["label"] in ("正面", "负面") and 0 <= res["score"] <= 1
    with pytest.raises(ValueError, match="texts"):
        clf.predict(None)
    with pytest.raises(TypeError, match="texts"):
        clf.predict(42)
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        clf.predict(["好", 3])
    with pytest.raises(ValueError, match="batch_size"):
        clf.predict(["好"], batch_size=0)
    with pytest.raises(ValueError, match="labels"):
        clf.fit(["好", "差"], ["正面"])
    with pytest.raises(ValueError, match=r"labels\[1\]"):
        clf.fit(["好", "差"], ["正面", "中性"])
    with pytest.raises(ValueError, match="text_pairs"):
        clf.predict(["好", "差"], text_pairs=["a"])


def test_large_batch_matches_small_batches(tokenizer):
    clf = make_classifier(tokenizer)
    texts, _ = toy_data(2000, 3)
    texts = [t * (1 + i % 3) for i, t in enumerate(texts)]  # mixed lengths exercise the length sort
    big = clf.predict_proba(texts, batch_size=512)
    small = np.concatenate([clf.predict_proba(texts[i:i + 7], batch_size=7) for i in range(0, 70, 7)])
    np.testing.assert_allclose(big[:70], small, atol=1e-5)


def test_mean_pooling_new_head_learns_saves_and_exports(tokenizer, tmp_path):
    """pooling="mean" starts a head on the masked token mean; it learns, survives save/load and export."""
    make_classifier(tokenizer).save_pretrained(tmp_path / "base")
    with pytest.raises(ValueError, match="pooling"):
        TextClassifier.from_pretrained(tmp_path / "base", pooling="mean")  # a trained head keeps its pooling
    with pytest.raises(ValueError, match="pooling"):
        TextClassifier.from_pretrained(tmp_path / "base", labels=["负面", "正面"], pooling="max")
    clf = TextClassifier.from_pretrained(tmp_path / "base", labels=["负面", "正面"], pooling="mean")
    assert clf.model.config.classifier_pooling == "mean" and clf.model.roots.pooler is None
    train_x, train_y = toy_data(256, 0)
    test_x, test_y = toy_data(64, 1)
    clf.fit(train_x, train_y, epochs=4, batch_size=16, learning_rate=3e-3, eval_every=16)
    assert clf.evaluate(test_x, test_y)["accuracy"] >= 0.95
    clf.save_pretrained(tmp_path / "mean")
    again = TextClassifier.from_pretrained(tmp_path / "mean")
    assert again.model.config.classifier_pooling == "mean"
    np.testing.assert_allclose(again.predict_proba(test_x), clf.predict_proba(test_x), atol=1e-5)
    served = TextClassifier.from_pretrained(clf.export(tmp_path / "mean_export"), backend="inference", threads=1)
    np.testing.assert_allclose(served.predict_proba(test_x, batch_size=7), clf.predict_proba(test_x), atol=1e-5)
