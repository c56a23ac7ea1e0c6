"""Imbalanced classification: class weights, a two-class decision threshold chosen on eval and saved,
validation errors naming the field, and `finetune` as the alias of `fit`."""
import numpy as np
import pytest

paddle = pytest.importorskip("paddle")

from roots_zh.pipelines.class_balance import (  # noqa: E402
    check_threshold, choose_threshold, decide, resolve_class_weights, weighted_loss_model)
from roots_zh.pipelines.text_classification import TextClassifier  # noqa: E402

from tests.pipelines.test_pipelines import make_classifier, toy_data, tokenizer  # noqa: E402,F401  (fixture)


def test_resolve_class_weights_balanced_list_and_errors():
    assert resolve_class_weights(None, [0, 1], 2) is None
    np.testing.assert_allclose(resolve_class_weights("balanced", [0, 0, 0, 1], 2), [4 / 6, 4 / 2])
    assert resolve_class_weights("balanced", [0, 0], 2) == [0.5, 1.0]  # absent class: 1.0
    assert resolve_class_weights([1, 2.5], [0], 2) == [1.0, 2.5]
    for bad, match in (("auto", "class_weights"), ([1.0], "has 1 values"), ([1.0, -1], r"class_weights\[1\]"),
                       ([1.0, float("nan")], r"class_weights\[1\]"), (3, "class_weights")):
        with pytest.raises(ValueError, match=match):
            resolve_class_weights(bad, [0, 1], 2)


def test_check_threshold_errors_name_the_field():
    assert check_threshold(None, 3, False) is None
    assert check_threshold("auto", 2, True) == "auto" and check_threshold(0.3, 2, False) == 0.3
    with pytest.raises(ValueError, match="`threshold` applies to two-class"):
        check_threshold("auto", 3, True)
    with pytest.raises(ValueError, match="eval_texts"):
        check_threshold("auto", 2, False)
    for bad in ("best", 0.0, 1.0, 2, True):
        with pytest.raises(ValueError, match="`threshold`"):
            check_threshold(bad, 2, True)


def test_choose_threshold_finds_the_best_cut_and_decide_uses_it():
    probs = np.array([0.1, 0.2, 0.3, 0.35, 0.4, 0.9])
    gold = np.array([0, 0, 0, 1, 1, 1])
    cut, acc = choose_threshold(probs, gold)
    assert acc == 1.0 and 0.3 < cut <= 0.35
    both = np.stack([1 - probs, probs], axis=1)
    assert decide(both, cut).tolist() == gold.tolist()
    assert decide(both, None).tolist() == [0, 0, 0, 0, 0, 1]  # argmax
    assert choose_threshold(np.array([0.2, 0.8]), np.array([0, 1]))[0] == 0.5  # ties: nearest 0.5
    cosines = np.array([-0.5, 0.5])  # any score range: ties go to its middle, cuts stay inside it
    assert choose_threshold(cosines, np.array([0, 1]), score_range=(-1.0, 1.0))[0] == 0.0
    assert -1.0 < choose_threshold(np.array([-0.9, -0.8]), np.array([0, 1]), score_range=(-1.0, 1.0))[0] < -0.8
    with pytest.raises(ValueError):
        choose_threshold(np.array([0.1]), np.array([0, 1]))


def test_weighted_loss_matches_manual_weighted_mean(tokenizer):
    clf = make_classifier(tokenizer)
    feats = clf.encode(["这家酒店服务很好", "房间太脏"])
    from roots_zh.training.trainer import pad_batch

    batch = {k: paddle.to_tensor(v) for k, v in pad_batch(feats, {"input_ids": 0}).items()}
    labels = paddle.to_tensor([1, 0])
    wrapped = weighted_loss_model(clf.model, [1.0, 3.0])
    clf.model.eval()
    out = wrapped(labels=labels, **batch)
    logp = paddle.nn.functional.log_softmax(out.logits, -1).numpy()
    manual = -(3.0 * logp[0, 1] + 1.0 * logp[1, 0]) / 4.0  # weight of each row's gold class
    np.testing.assert_allclose(float(out.loss), manual, rtol=1e-5)
    assert len(list(wrapped.parameters())) == len(list(clf.model.parameters()))


def test_fit_with_class_weights_and_auto_threshold_saves_threshold(tokenizer, tmp_path):
    clf = make_classifier(tokenizer)
    x, y = toy_data(96, 0)
    ex, ey = toy_data(32, 1)
    summary = clf.fit(x, y, eval_texts=ex, eval_labels=ey, epochs=2, batch_size=16, learning_rate=3e-3,
                      class_weights="balanced", threshold="auto")
    assert 0 < summary["threshold"] < 1 and len(summary["class_weights"]) == 2
    assert {"threshold", "accuracy_argmax"} <= set(summary["best"])
    assert clf.threshold == summary["threshold"]
    result = clf.evaluate(ex, ey)
    assert result["threshold"] == clf.threshold
    assert abs(result["accuracy"] - summary["best"]["accuracy"]) < 1e-6  # best weights restored
    probs = clf.predict_proba(ex)
    expected = [clf.labels[int(p[1] >= clf.threshold)] for p in probs]
    assert [r["label"] for r in clf.predict(ex)] == expected
    gold = np.array([clf.labels.index(str(v)) if str(v) in clf.labels else int(v) for v in ey])
    pred = np.array([clf.labels.index(label) for label in expected])
    assert result["recall_per_class"] == {label: float((pred[gold == i] == i).mean())
                                          for i, label in enumerate(clf.labels)}
    clf.save_pretrained(tmp_path)
    again = TextClassifier.from_pretrained(tmp_path)
    assert again.threshold == clf.threshold
    assert [r["label"] for r in again.predict(ex)] == expected
    clf.fit(x[:16], y[:16], epochs=1, batch_size=16)  # retraining without a threshold clears it
    assert clf.threshold is None and "threshold" not in clf.evaluate(ex, ey)


def test_fixed_threshold_and_validation(tokenizer):
    clf = make_classifier(tokenizer)
    x, y = toy_data(16, 0)
    clf.fit(x, y, epochs=1, batch_size=16, threshold=0.9)
    assert clf.threshold == 0.9
    with pytest.raises(ValueError, match="eval_texts"):
        clf.fit(x, y, epochs=1, threshold="auto")
    with pytest.raises(ValueError, match="class_weights"):
        clf.fit(x, y, epochs=1, class_weights="inverse")
    with pytest.raises(ValueError, match="`labels` has 3 items"):
        clf.fit(x, y[:3], epochs=1)


def test_finetune_is_the_fit_alias_with_the_same_validation(tokenizer):
    clf = make_classifier(tokenizer)
    x, y = toy_data(32, 0)
    ex, ey = toy_data(16, 1)
    summary = clf.finetune(x, y, eval_texts=ex, eval_labels=ey, epochs=1, batch_size=16, learning_rate=3e-3)
    assert summary["steps"] == 2 and summary["best"]["n"] == 16
    with pytest.raises(ValueError, match="class_weights"):
        clf.finetune(x, y, class_weights=[1.0])
    with pytest.raises(ValueError, match="`threshold`"):
        clf.finetune(x, y, threshold=1.5)
    with pytest.raises(ValueError, match="not one of the classifier's labels"):
        clf.finetune(x, ["好"] * len(x))
    assert "Alias of :meth:`fit`" in TextClassifier.finetune.__doc__


def test_macro_f1_threshold_answers_both_classes(tokenizer):
    # 8 negatives, 2 positives, weak scores: accuracy's best cut answers "0" always, macro-F1's does not
    p = np.array([0.1, 0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7])[[0, 1, 2, 3, 4, 5, 7, 9, 10, 6, 8]]
    y = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1])  # positives at 0.5 and 0.6, negatives up to 0.7
    cut_acc, acc = choose_threshold(p, y)
    cut_f1, f1 = choose_threshold(p, y, "macro_f1")
    assert (p >= cut_acc).sum() == 0 and abs(acc - 9 / 11) < 1e-9  # the majority answer
    assert ((p >= cut_f1) & (y == 1)).sum() == 2 and 0.5 < f1 < 1
    with pytest.raises(ValueError, match="metric"):
        choose_threshold(p, y, "recall")
    clf = make_classifier(tokenizer)
    ex, ey = toy_data(32, 1)
    out = clf.tune_threshold(ex, ey, metric="macro_f1")
    assert clf.threshold == out["threshold"] and 0 <= out["macro_f1"] <= 1
