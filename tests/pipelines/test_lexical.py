"""The lexical leg: numpy inference equal to scikit-learn's, int8 storage, hash collisions, and the
classifier that averages it with the encoder (saved, reloaded, exported with the model)."""
import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("jieba")
paddle = pytest.importorskip("paddle")

from roots_zh.pipelines.lexical import LEXICAL_FILE, LexicalModel, feature_hash, fit_lexical_model  # noqa: E402
from roots_zh.pipelines.text_classification import TextClassifier  # noqa: E402
from roots_zh.training.tfidf_teacher import TfidfClassifier  # noqa: E402

from tests.pipelines.test_pipelines import make_classifier, toy_data, tokenizer  # noqa: E402,F401  (fixture)

SPORTS = ["球队赢得了比赛", "足球比赛今晚开始", "篮球比赛打进决赛", "他在比赛中进球", "网球比赛决赛"]
MONEY = ["股市今天大涨", "银行提高股市利率", "股市基金收益下降", "股市价格上涨", "央行调整股市利率"]
TECH = ["手机芯片发布", "新款手机上市", "芯片工厂投产", "手机系统更新", "人工智能芯片"]
QUERIES = ["足球比赛决赛", "股市利率上涨", "手机芯片", "今天的比赛和股市", "完全无关的句子"]


@pytest.mark.parametrize("labels", [["体育", "财经", "科技"], ["体育", "财经"]])
def test_numpy_probabilities_equal_scikit_learn_and_survive_int8_storage(labels, tmp_path):
    texts = (SPORTS + MONEY + TECH)[:5 * len(labels)]
    gold = [label for label in labels for _ in range(5)]
    order = labels[::-1]  # columns follow the order asked for, not the fitted one
    tfidf = TfidfClassifier().fit(texts, gold)
    model = LexicalModel.from_features(*tfidf.linear_model(order))
    np.testing.assert_allclose(model.predict_proba(QUERIES), tfidf.predict_proba(QUERIES, order), atol=1e-5)
    assert model.save(tmp_path).name == LEXICAL_FILE
    again = LexicalModel.load(tmp_path)
    np.testing.assert_allclose(again.predict_proba(QUERIES), model.predict_proba(QUERIES), atol=0.02)
    assert LexicalModel.load(tmp_path / "elsewhere") is None
    with pytest.raises(ValueError, match="label_order"):
        tfidf.linear_model(labels + ["其他"])


def test_max_features_keeps_the_strongest_and_refits():
    texts, gold = SPORTS + MONEY + TECH, ["体育"] * 5 + ["财经"] * 5 + ["科技"] * 5
    full = TfidfClassifier().fit(texts, gold)
    strength = np.abs(full.model.coef_).max(axis=0)
    strongest = set(full.vectorizer.get_feature_names_out()[np.argsort(-strength, kind="stable")[:20]])
    small = TfidfClassifier(max_features=20).fit(texts, gold)
    assert set(small.vectorizer.vocabulary_) == strongest and len(full.vectorizer.vocabulary_) > 20
    model = fit_lexical_model(texts, gold, ["体育", "财经", "科技"], max_features=20)
    assert len(model.hashes) == 20
    assert model.predict_proba(["足球比赛", "股市利率", "手机芯片"]).argmax(1).tolist() == [0, 1, 2]


def test_hash_collisions_keep_the_stronger_feature_and_bad_shapes_are_refused():
    assert feature_hash("plumless") == feature_hash("buckeroo")  # a known CRC-32 collision
    weight = np.array([[0.1, -0.1], [2.0, -2.0], [0.5, 0.0]], dtype=np.float32)
    model = LexicalModel.from_features(["plumless", "buckeroo", "other"], np.ones(3), weight, np.zeros(2))
    assert len(model.hashes) == 2
    assert model.logits([["plumless"]])[0].tolist() == [2.0, -2.0]  # the strong one won
    assert model.logits([[], ["unseen"]]).tolist() == [[0.0, 0.0], [0.0, 0.0]]  # bias only
    with pytest.raises(ValueError, match="shapes"):
        LexicalModel(np.array([1, 2]), np.ones(2), np.ones((3, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="sorted"):
        LexicalModel(np.array([2, 1]), np.ones(2), np.ones((2, 2)), np.zeros(2))


def test_classifier_averages_the_leg_and_keeps_it_through_save_and_export(tokenizer, tmp_path):
    clf = make_classifier(tokenizer)
    texts, labels = toy_data(40, seed=0)
    encoder_only = clf.predict_proba(texts[:8])
    with pytest.raises(ValueError, match="weight"):
        clf.fit_lexical(texts, labels, weight=1.0)
    with pytest.raises(ValueError, match="labels"):
        clf.fit_lexical(texts, labels[:3])
    assert clf.fit_lexical(texts, labels, weight=0.4)["weight"] == 0.4 and clf.lexical_weight == 0.4
    lexical = clf.lexical.predict_proba(texts[:8])
    mixed = clf.predict_proba(texts[:8])
    expected = np.exp(0.6 * np.log(encoder_only) + 0.4 * np.log(lexical))
    np.testing.assert_allclose(mixed, expected / expected.sum(1, keepdims=True), atol=1e-5)
    assert clf.evaluate(texts, labels)["accuracy"] > 0.9  # the toy words separate the classes

    clf.save_pretrained(tmp_path / "saved")
    again = TextClassifier.from_pretrained(tmp_path / "saved")
    assert again.lexical_weight == 0.4
    np.testing.assert_allclose(again.predict_proba(texts[:8]), mixed, atol=0.02)
    new_head = TextClassifier.from_pretrained(tmp_path / "saved", labels=["差", "好"])
    assert new_head.lexical is None and "lexical_weight" not in new_head.config.extra  # it scored other labels
    new_head.save_pretrained(tmp_path / "saved_again")
    encoder_only_dir = tmp_path / "saved"
    again.lexical = None
    again.save_pretrained(encoder_only_dir)  # over the folder that held a leg
    assert not (encoder_only_dir / LEXICAL_FILE).exists()
    assert TextClassifier.from_pretrained(encoder_only_dir).lexical is None
    np.testing.assert_allclose(TextClassifier.from_pretrained(encoder_only_dir).predict_proba(texts[:8]),
                               encoder_only, atol=1e-5)
    clf.export(tmp_path / "exported")
    assert (tmp_path / "exported" / LEXICAL_FILE).is_file()
    runtime = TextClassifier.from_pretrained(tmp_path / "exported", backend="inference")
    np.testing.assert_allclose(runtime.predict_proba(texts[:8]), mixed, atol=0.02)  # int8 leg on disk


def test_the_leg_reads_text_as_normalised_for_the_encoder(tokenizer):
    clf = make_classifier(tokenizer)
    clf.fit_lexical(SPORTS + MONEY, ["正面"] * 5 + ["负面"] * 5)
    simplified = clf.lexical.predict_proba(["价格上涨"])
    assert np.abs(clf.lexical.predict_proba(["價格上漲"]) - simplified).max() > 0.01  # raw: other words
    clf.tokenizer.normalizer = "t2s"
    try:
        np.testing.assert_allclose(clf.lexical.predict_proba(clf._normalized(["價格上漲"])), simplified, atol=1e-6)
    finally:
        clf.tokenizer.normalizer = None
