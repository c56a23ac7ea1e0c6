"""shrink_model: a smaller student of the same class, started from a trained model."""
import numpy as np
import pytest

paddle = pytest.importorskip("paddle")

from roots_zh import RootsConfig, RootsForTokenClassification  # noqa: E402
from roots_zh.modeling.shrink import embedding_projection, shrink_model  # noqa: E402


def teacher(**kw):
    paddle.seed(0)
    config = dict(vocab_size=97, hidden_size=64, num_hidden_layers=4, num_attention_heads=4, intermediate_size=128,
                  max_position_embeddings=32, type_vocab_size=3, num_labels=5, hidden_dropout_prob=0.0,
                  attention_probs_dropout_prob=0.0)
    config.update(kw)
    return RootsForTokenClassification(RootsConfig(**config))


def test_narrower_student_projects_every_embedding_table_the_same_way():
    model = teacher()
    student = shrink_model(model, hidden_size=32, num_hidden_layers=2)
    c = student.config
    assert (c.hidden_size, c.num_hidden_layers, c.intermediate_size, c.num_attention_heads) == (32, 2, 128, 1)
    assert c.num_labels == 5 and c.type_vocab_size == 3  # the task and criteria stay
    emb, t_emb = student.roots.embeddings, model.roots.embeddings
    proj = embedding_projection(t_emb.word_embeddings.weight.numpy(), 32)
    assert np.allclose(proj.T @ proj, np.eye(32), atol=1e-4)  # orthonormal directions
    for name in ("word_embeddings", "position_embeddings", "token_type_embeddings"):
        assert np.allclose(getattr(emb, name).weight.numpy(), getattr(t_emb, name).weight.numpy() @ proj, atol=1e-5)
    ids = paddle.to_tensor(np.arange(5, 15).reshape(1, 10))
    assert student(ids).logits.shape == [1, 10, 5]


def test_same_width_copies_evenly_spaced_layers():
    model = teacher()
    student = shrink_model(model, num_hidden_layers=2)
    assert student.config.intermediate_size == 128 and student.config.num_attention_heads == 4
    for target, source in zip(student.roots.encoder.layers, (0, 3)):  # first and last of four
        for (name, value), (_, expected) in zip(target.state_dict().items(),
                                                model.roots.encoder.layers[source].state_dict().items()):
            assert np.array_equal(value.numpy(), expected.numpy()), name
    ids = paddle.to_tensor(np.arange(5, 15).reshape(1, 10))
    model.eval(), student.eval()
    one_layer = shrink_model(model, num_hidden_layers=1)  # layer 0 only: not the teacher's function
    one_layer.eval()
    assert not np.allclose(one_layer(ids).logits.numpy(), model(ids).logits.numpy())


def test_shrink_rejects_growing():
    with pytest.raises(ValueError, match="num_hidden_layers"):
        shrink_model(teacher(), num_hidden_layers=6)
    with pytest.raises(ValueError, match="hidden_size"):
        shrink_model(teacher(), hidden_size=128)
