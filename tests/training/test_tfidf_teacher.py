"""The TF-IDF + logistic-regression classifier (baseline and distillation teacher)."""
import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("jieba")

from roots_zh.training.tfidf_teacher import TfidfClassifier, cross_fitted_probs  # noqa: E402

SPORTS = ["球队赢得了比赛", "足球比赛今晚开始", "篮球比赛打进决赛", "他在比赛中进球", "网球比赛决赛"]
MONEY = ["股市今天大涨", "银行提高股市利率", "股市基金收益下降", "股市价格上涨", "央行调整股市利率"]


def test_fit_predict_and_probability_columns_follow_the_label_order():
    model = TfidfClassifier().fit(SPORTS + MONEY, ["体育"] * 5 + ["财经"] * 5)
    assert list(model.predict(["足球比赛", "股票利率"])) == ["体育", "财经"]
    probs = model.predict_proba(["足球比赛", "股票利率"], ["财经", "体育", "科技"])
    assert probs.shape == (2, 3) and probs.dtype == np.float32
    assert probs[0, 1] > probs[0, 0] and probs[1, 0] > probs[1, 1]
    assert (probs[:, 2] == 0).all()  # a label the model never saw
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_cross_fitted_probabilities_come_from_models_that_did_not_see_the_row():
    texts = SPORTS + MONEY + ["奇怪的独角兽"]  # the last text's words occur nowhere else
    labels = ["体育"] * 5 + ["财经"] * 5 + ["体育"]
    oof, extra = cross_fitted_probs(texts, labels, ["体育", "财经"], folds=11, unlabelled=texts[-1:])  # leave-one-out
    seen = TfidfClassifier().fit(texts, labels).predict_proba(texts[-1:], ["体育", "财经"])
    assert oof.shape == (11, 2)
    np.testing.assert_allclose(extra, seen, rtol=1e-5)  # unlabelled text: the model fitted on all texts
    assert seen[0, 0] > oof[-1, 0]  # fitted on the row itself it is surer of its label
    assert (oof[:5, 0] > 0.5).all() and (oof[5:10, 1] > 0.5).all()
    with pytest.raises(ValueError, match="folds"):
        cross_fitted_probs(texts, labels, ["体育", "财经"], folds=1)
    with pytest.raises(ValueError, match="labels"):
        TfidfClassifier().fit(texts, labels[:3])
