"""NER: tag schemes, entity metric, real-data readers, token alignment, windows, training, bad inputs."""
import json
import logging

import numpy as np
import pytest

paddle = pytest.importorskip("paddle")

from tests.conftest import REPO_ROOT, shared_data  # noqa: E402
from roots_zh.metrics.spans import entity_prf  # noqa: E402
from roots_zh.data.ner_qa import (CLUENER_TYPES, load_ner_set, read_bio_chars, read_cluener,  # noqa: E402
                                  spans_to_tags, tag_names, tags_to_spans)
from roots_zh.modeling import RootsConfig, RootsForTokenClassification  # noqa: E402
from roots_zh.pipelines.token_classification import TokenClassifier  # noqa: E402
from roots_zh.tokenization.auto import AutoTokenizer  # noqa: E402
from roots_zh.training.trainer import pad_batch  # noqa: E402


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(REPO_ROOT / "pretrained" / "roots-base")


def tiny(tokenizer, types=("name", "address"), scheme="BIO", max_length=64, stride=8, seed=0):
    paddle.seed(seed)
    tags = tag_names(list(types), scheme)
    cfg = RootsConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=64, num_labels=len(tags), id2label=dict(enumerate(tags)))
    return TokenClassifier(RootsForTokenClassification(cfg), tokenizer, max_length=max_length, stride=stride)


def test_entity_prf_hand_cases():
    gold = [[("name", 0, 3), ("address", 5, 7)], [("name", 1, 2)]]
    pred = [[("name", 0, 3), ("address", 5, 6)], [("address", 1, 2), ("name", 4, 5)]]
    m = entity_prf(gold, pred)  # 1 exact hit; a boundary or type mismatch earns nothing
    assert m["precision"] == pytest.approx(1 / 4) and m["recall"] == pytest.approx(1 / 3)
    assert m["f1"] == pytest.approx(2 * (1 / 4) * (1 / 3) / (1 / 4 + 1 / 3))
    assert m["f1_name"] == pytest.approx(2 * 0.5 * 0.5 / 1.0) and m["f1_address"] == 0.0
    assert entity_prf(gold, gold)["f1"] == 1.0 and entity_prf([[]], [[]])["f1"] == 0.0
    with pytest.raises(ValueError, match="gold"):
        entity_prf(gold, pred[:1])


@pytest.mark.parametrize("scheme", ["BIO", "BMES"])
def test_tag_scheme_round_trip(scheme):
    spans = [("name", 0, 3), ("address", 3, 4), ("name", 6, 8)]
    tags = spans_to_tags(9, spans, scheme)
    expected = {"BIO": ["B-name", "I-name", "I-name", "B-address", "O", "O", "B-name", "I-name", "O"],
                "BMES": ["B-name", "M-name", "E-name", "S-address", "O", "O", "B-name", "E-name", "O"]}[scheme]
    assert tags == expected and tags_to_spans(tags, scheme) == spans
    assert tags_to_spans(["I-x", "I-x", "O", "I-y", "B-y"], "BIO") == [("x", 0, 2), ("y", 3, 4), ("y", 4, 5)]
    with pytest.raises(ValueError, match="scheme"):
        tag_names(["x"], "BIOES")


def test_readers_on_real_data():
    root = shared_data()
    train, rep = load_ner_set(root, "cluener", "train")
    dev, rep_dev = load_ner_set(root, "cluener", "dev")
    assert (rep.read, rep.skipped, sum(len(e.entities) for e in train)) == (10748, 0, 23971)
    assert (rep_dev.read, sum(len(e.entities) for e in dev)) == (1343, 3072)
    assert sum(1 for e in dev for s in e.entities if s[0] == "name") == 465
    test, _ = load_ner_set(root, "msra_ner", "test")
    counts = {t: sum(1 for e in test for s in e.entities if s[0] == t) for t in ("LOC", "ORG", "PER")}
    assert len(test) == 3442 and counts == {"LOC": 2886, "ORG": 1331, "PER": 1973}
    assert sum(len(e.text) for e in test) == 172601 and max(len(e.text) for e in test) == 2427


def test_readers_skip_malformed(tmp_path):
    path = tmp_path / "bad.json"
    good = {"text": "彭小军认为", "label": {"name": {"彭小军": [[0, 2]]}}}
    lines = [json.dumps(good, ensure_ascii=False), "{not json", json.dumps([1, 2]),
             json.dumps({"text": "彭小军", "label": {"name": {"小军": [[0, 1]]}}}, ensure_ascii=False),
             json.dumps({"label": {}}), ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    examples, report = read_cluener(path)
    assert [e.entities for e in examples] == [[("name", 0, 3)]]
    assert report.skipped == 4 and "line 2" in report.first_errors[0]
    bio = tmp_path / "bad.bio"
    bio.write_text("北\tB-LOC\n京\tI-LOC\n\n坏\n行\tO\n\n好\tB-PER\n", encoding="utf-8")
    examples, report = read_bio_chars(bio)
    assert [(e.text, e.entities) for e in examples] == [("北京", [("LOC", 0, 2)]), ("好", [("PER", 0, 1)])]
    assert report.skipped == 1 and "line 4" in report.first_errors[0]
    with pytest.raises(ValueError, match="name"):
        load_ner_set(tmp_path, "conll", "train")


def test_alignment_round_trip_on_cluener_dev(tokenizer):
    dev, _ = load_ner_set(shared_data(), "cluener", "dev")
    for scheme in ("BIO", "BMES"):
        ner = tiny(tokenizer, CLUENER_TYPES, scheme)
        report = ner.alignment_report([e.text for e in dev], [e.entities for e in dev])
        # every entity on token edges comes back exactly; the rest straddle a SentencePiece piece
        assert report["lossless"] + report["unalignable"] == report["entities"] == 3072
        assert report["unalignable"] <= 0.06 * 3072, report  # measured: 146 (4.8%)


def _direct_probs(ner, text):
    """Reference: one forward pass over [CLS] text [SEP]."""
    enc = ner.tokenizer(text, return_offsets_mapping=True)
    ner.model.eval()
    logits = ner.model(paddle.to_tensor([enc["input_ids"]])).logits
    return paddle.nn.functional.softmax(logits, axis=-1).numpy()[0, 1:-1]


def test_predict_offsets_and_window_merging(tokenizer, caplog):
    ner = tiny(tokenizer, max_length=16, stride=4)
    text = "😀彭小军认为，\x00国内银行现在走的是台湾的发卡模式。" * 3
    probs, encs = ner.predict_tag_probs([text, "北京"])
    windows = encs[0]["windows"]
    assert len(windows) > 2 and windows[0][0] == 0 and windows[-1][1] == len(encs[0]["ids"])
    # a text that fits in one window: identical to a single pass
    np.testing.assert_allclose(probs[1], _direct_probs(ner, "北京"), atol=1e-5)
    # each token's row comes from the window where it has the most context (checked on window 1)
    s, e = windows[1]
    direct = ner.model(paddle.to_tensor([[tokenizer.cls_token_id] + encs[0]["ids"][s:e] + [tokenizer.sep_token_id]]))
    direct = paddle.nn.functional.softmax(direct.logits, axis=-1).numpy()[0, 1:-1]
    mid = (s + e) // 2
    np.testing.assert_allclose(probs[0][mid], direct[mid - s], atol=1e-5)
    # a big max_length gives one window and the same result as the reference pass
    big = TokenClassifier(ner.model, tokenizer, max_length=128)
    np.testing.assert_allclose(big.predict_tag_probs([text])[0][0], _direct_probs(big, text), atol=1e-5)
    for out in ner.predict([text, "北京"]) + big.predict([text]):
        assert out["entities"], "a random 5-tag model tags something"
        for ent in out["entities"]:
            assert out["text"][ent["start"]:ent["end"]] == ent["text"] and ent["end"] > ent["start"]
            assert 0 < ent["score"] <= 1
    with caplog.at_level(logging.WARNING):
        cut = ner.predict(text, truncation=True)
    assert "truncat" in caplog.text
    assert max(e["end"] for e in cut["entities"]) <= encs[0]["offsets"][windows[0][1] - 1][1]


def test_padding_in_a_batch_changes_no_prediction(tokenizer):
    """Rows padded to the longest of their batch decode to what each text gives alone (no padding)."""
    ner = tiny(tokenizer, scheme="BMES", max_length=16, stride=4)
    texts = ["北京", "彭小军认为，国内银行现在走的是台湾的发卡模式。", "", "马云在杭州创办了阿里巴巴集团。" * 3, "上海"]
    alone = [ner.predict(text, batch_size=1) for text in texts]
    for batch_size in (2, 64):
        for a, b in zip(alone, ner.predict(texts, batch_size=batch_size)):
            assert [(e["type"], e["start"], e["end"]) for e in a["entities"]] == \
                [(e["type"], e["start"], e["end"]) for e in b["entities"]]
            np.testing.assert_allclose([e["score"] for e in a["entities"]], [e["score"] for e in b["entities"]],
                                       atol=1e-5)
    assert any(row["entities"] for row in alone)


def test_fit_lowers_loss_and_round_trips(tokenizer, tmp_path):
    train, _ = load_ner_set(shared_data(), "cluener", "train")
    train = train[:96]
    texts, ents = [e.text for e in train], [e.entities for e in train]
    ner = tiny(tokenizer, CLUENER_TYPES, "BMES", max_length=64)

    def loss():
        feats, _, _ = ner._features(texts, ner._check_entities(texts, ents))
        batch = pad_batch(feats, {"input_ids": tokenizer.pad_token_id, "labels": -100})
        ner.model.eval()
        with paddle.no_grad():
            return float(ner.model(**{k: paddle.to_tensor(v) for k, v in batch.items()}).loss)

    before = loss()
    summary = ner.fit(texts, ents, epochs=8, batch_size=16, learning_rate=5e-3, warmup_ratio=0.0)
    after = loss()
    assert after < 0.6 * before, (before, after, summary["steps"])
    ner.save_pretrained(tmp_path)
    again = TokenClassifier.from_pretrained(tmp_path, max_length=64)
    assert again.scheme == "BMES" and again.types == CLUENER_TYPES
    assert again.predict(texts[:20]) == ner.predict(texts[:20])


def test_bad_inputs(tokenizer):
    ner = tiny(tokenizer)
    assert ner.predict([]) == [] and ner.predict("") == {"text": "", "entities": []}
    for text in (" \t\n", "😀😀", "a\ud800b", "\x00\x00", "\u200b"):
        out = ner.predict(text)
        assert out["text"] == text and all(text[e["start"]:e["end"]] == e["text"] for e in out["entities"])
    with pytest.raises(ValueError, match="texts"):
        ner.predict(None)
    with pytest.raises(TypeError, match="texts"):
        ner.predict(123)
    with pytest.raises(ValueError, match=r"texts\[1\]"):
        ner.predict(["ok", None])
    with pytest.raises(ValueError, match=r"entities\[0\]\[0\]"):
        ner.fit(["北京"], [[("city", 0, 2)]])
    with pytest.raises(ValueError, match=r"entities\[0\]\[0\]"):
        ner.fit(["北京"], [[("name", 1, 5)]])
    with pytest.raises(ValueError, match="entities"):
        ner.fit(["北京", "上海"], [[]])
    with pytest.raises(ValueError, match="scheme"):
        TokenClassifier.from_pretrained(REPO_ROOT / "pretrained" / "roots-base", labels=["x"], scheme="IOB2")
    with pytest.raises(ValueError, match="stride"):
        TokenClassifier(ner.model, tokenizer, stride=-1)
    long = ner.predict("北京天安门" * 4000)  # 20,000 chars: sliding windows, no truncation
    assert long["entities"] and long["entities"][-1]["end"] > 19000


@pytest.mark.slow
def test_huge_inputs(tokenizer):
    ner = tiny(tokenizer, max_length=128, stride=16)
    long = ner.predict("北京天安门" * 40000)  # 200,000 chars
    assert long["entities"] and long["entities"][-1]["end"] > 190000
    many = ner.predict(["彭小军认为，国内银行"] * 10000)
    assert len(many) == 10000 and many[0] == many[-1]


def test_replace_model_moves_the_backend(tokenizer):
    """Re-initialised weights (``--init random``) must be what predict() runs, not the old model."""
    ner = tiny(tokenizer, seed=0)
    before = ner.predict_tag_probs(["马云在杭州。"])[0][0]
    ner.replace_model(tiny(tokenizer, seed=1).model)
    after = ner.predict_tag_probs(["马云在杭州。"])[0][0]
    np.testing.assert_allclose(after, _direct_probs(ner, "马云在杭州。"), rtol=1e-4, atol=1e-5)
    assert not np.allclose(before, after)


def test_criteria_feed_a_token_type_per_standard_and_round_trip(tokenizer, tmp_path):
    """Multi-criteria tagging: each standard is a token type (new rows copy type 0), saved in the config."""
    seg = tiny(tokenizer, ("w",), "BMES")
    assert seg.criteria == [] and seg.criterion is None
    type0 = seg.model.roots.embeddings.token_type_embeddings.weight.numpy()[0].copy()
    seg.set_criteria(["pku", "cnc", "sxu"])
    table = seg.model.roots.embeddings.token_type_embeddings.weight.numpy()
    assert table.shape[0] == 3 and np.allclose(table[2], type0) and seg.config.type_vocab_size == 3
    texts = ["结巴中文分词", "我爱北京天安门"]
    spans = [[("w", 0, 2), ("w", 2, 4), ("w", 4, 6)], [("w", 0, 1), ("w", 1, 2), ("w", 2, 4), ("w", 4, 7)]]
    feats, _, _ = seg._features(texts, spans, criteria=["cnc", "sxu"])
    assert feats[0]["token_type_ids"] == [1] * len(feats[0]["input_ids"]) and set(feats[1]["token_type_ids"]) == {2}
    assert set(seg._features(texts)[0][0]["token_type_ids"]) == {0}  # predictions follow the default (first)
    seg.fit(texts * 4, spans * 4, criteria=["pku", "cnc"] * 4, epochs=1, batch_size=4)
    seg.criterion = "sxu"
    expected = seg.predict(texts)
    seg.save_pretrained(tmp_path)
    again = TokenClassifier.from_pretrained(tmp_path, max_length=64)
    assert again.criteria == ["pku", "cnc", "sxu"] and again.criterion == "pku"
    again.criterion = "sxu"
    assert again.predict(texts) == expected
    with pytest.raises(ValueError, match="criterion"):
        again.criterion = "msr"
    with pytest.raises(ValueError, match="criteria"):
        seg.fit(texts, spans, criteria=["pku", "weibo"], epochs=1)
    with pytest.raises(ValueError, match="criteria"):
        seg.set_criteria(["pku", "pku"])
