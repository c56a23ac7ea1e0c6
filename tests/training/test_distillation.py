"""Distillation: the loss (soft term, labelled rows only for the hard term), an ensemble's teacher
logits, and `TextClassifier.distill` teaching a student from unlabelled text (teachers as models or
as probability arrays)."""
import numpy as np
import pytest

paddle = pytest.importorskip("paddle")

from roots_zh.data.collate import pad_batch  # noqa: E402
from roots_zh.modeling.masks import IGNORE_INDEX  # noqa: E402
from roots_zh.training.distillation import distillation_loss, ensemble_log_probs  # noqa: E402

from tests.pipelines.test_pipelines import make_classifier, toy_data, tokenizer  # noqa: E402,F401  (fixture)


def test_loss_is_zero_on_the_teacher_and_its_hard_term_skips_unlabelled_rows():
    logits = paddle.to_tensor([[2.0, -1.0, 0.5], [0.0, 3.0, -2.0]])
    assert float(distillation_loss(logits, logits, alpha=1.0)) == pytest.approx(0.0, abs=1e-6)
    unlabelled = paddle.to_tensor([IGNORE_INDEX, IGNORE_INDEX])
    teacher = paddle.to_tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    soft = float(distillation_loss(logits, teacher, alpha=1.0, temperature=2.0))
    assert soft > 0
    mixed = float(distillation_loss(logits, teacher, unlabelled, alpha=0.5, temperature=2.0))
    assert mixed == pytest.approx(0.5 * soft)
    labelled = paddle.to_tensor([0, IGNORE_INDEX])
    hard = float(paddle.nn.functional.cross_entropy(logits[:1], paddle.to_tensor([0])))
    assert float(distillation_loss(logits, teacher, labelled, alpha=0.5, temperature=2.0)) == pytest.approx(
        0.5 * soft + 0.5 * hard, rel=1e-5)


def test_gradient_steps_move_the_student_towards_the_teacher():
    teacher = paddle.to_tensor([[3.0, 0.0, -1.0]])
    student = paddle.create_parameter([1, 3], "float32", default_initializer=paddle.nn.initializer.Constant(0.0))
    opt = paddle.optimizer.SGD(learning_rate=1.0, parameters=[student])
    losses = []
    for _ in range(50):
        loss = distillation_loss(student, teacher, alpha=1.0)
        loss.backward()
        opt.step()
        opt.clear_grad()
        losses.append(float(loss))
    assert losses[-1] < 0.05 * losses[0]
    assert int(student.argmax()) == 0


def test_ensemble_logits_and_float_rows_in_batches():
    a = np.array([[0.9, 0.1], [0.2, 0.8]])
    b = np.array([[0.6, 0.4], [0.4, 0.6]])
    mean = ensemble_log_probs([a, b])
    np.testing.assert_allclose(mean, (np.log(a) + np.log(b)) / 2, rtol=1e-6)
    with pytest.raises(ValueError, match="teachers"):
        ensemble_log_probs([])
    with pytest.raises(ValueError, match="shape"):
        ensemble_log_probs([a, b[:1]])
    batch = pad_batch([{"input_ids": [5, 6], "teacher_logits": [0.5, -1.25]},
                       {"input_ids": [7], "teacher_logits": [1.0, 2.0]}], {"input_ids": 0})
    assert batch["teacher_logits"].dtype == np.float32 and batch["input_ids"].dtype == np.int64
    np.testing.assert_allclose(batch["teacher_logits"], [[0.5, -1.25], [1.0, 2.0]])


def test_distill_teaches_a_student_from_unlabelled_text(tokenizer):
    teacher = make_classifier(tokenizer)
    train_x, train_y = toy_data(256, 0)
    test_x, test_y = toy_data(64, 1)
    teacher.fit(train_x, train_y, epochs=4, batch_size=16, learning_rate=3e-3)
    assert teacher.evaluate(test_x, test_y)["accuracy"] >= 0.95
    paddle.seed(1)
    student = make_classifier(tokenizer)
    before = student.evaluate(test_x, test_y)["accuracy"]
    unlabelled, _ = toy_data(256, 2)
    summary = student.distill(unlabelled, [teacher, teacher], eval_texts=test_x, eval_labels=test_y, epochs=4,
                              batch_size=16, learning_rate=3e-3, temperature=2.0, alpha=1.0)
    after = student.evaluate(test_x, test_y)["accuracy"]
    assert after >= 0.95 and after > before, (before, after, summary["best"])
    assert summary["distillation"] == {"teachers": 2, "temperature": 2.0, "alpha": 1.0, "labelled": 0, "texts": 256}


def test_a_teacher_given_as_probabilities_teaches_the_student(tokenizer):
    texts, labels = toy_data(256, 2)
    test_x, test_y = toy_data(64, 1)
    student = make_classifier(tokenizer)
    probs = np.array([[0.9, 0.1] if label == student.labels[0] else [0.1, 0.9] for label in labels], dtype=np.float32)
    summary = student.distill(texts, [probs], eval_texts=test_x, eval_labels=test_y, epochs=4, batch_size=16,
                              learning_rate=3e-3, temperature=1.0, alpha=1.0)
    assert student.evaluate(test_x, test_y)["accuracy"] >= 0.95, summary["best"]
    assert summary["distillation"]["teachers"] == 1 and summary["distillation"]["labelled"] == 0


def test_distill_errors_name_the_field(tokenizer):
    student = make_classifier(tokenizer)
    texts, labels = toy_data(8, 0)
    other = make_classifier(tokenizer)
    other.labels = ["a", "b"]
    for kwargs, match in (({"teachers": [other]}, r"teachers\[0\]"), ({"teachers": "x"}, r"teachers\[0\]"),
                          ({"teachers": student, "temperature": 0}, "temperature"),
                          ({"teachers": student, "alpha": 1.5}, "alpha"),
                          ({"teachers": student, "labels": labels[:3]}, "labels"),
                          ({"teachers": student, "labels": ["中性"] + labels[1:]}, r"labels\[0\]"),
                          ({"teachers": [student, np.full((3, 2), 0.5)]}, r"teachers\[1\].*shape"),
                          ({"teachers": [np.full((8, 2), 0.7)]}, r"teachers\[0\].*probabilities")):
        with pytest.raises(ValueError, match=match):
            student.distill(texts, **kwargs)
