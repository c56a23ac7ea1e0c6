"""`average_weights`: the element-wise mean of weight files (model soups), with clear refusals."""
import numpy as np
import pytest

from roots_zh.modeling.checkpoint import average_weights, load_weights, save_weights


def test_average_is_elementwise_and_refuses_mismatches(tmp_path):
    a = {"w": np.array([[1.0, 2.0]], np.float32), "ids": np.array([0, 1], np.int64)}
    b = {"w": np.array([[3.0, 6.0]], np.float32), "ids": np.array([0, 1], np.int64)}
    pa, pb = save_weights(a, tmp_path / "a.safetensors"), save_weights(b, tmp_path / "b.safetensors")
    avg = average_weights([pa, pb])
    np.testing.assert_allclose(avg["w"], [[2.0, 4.0]])
    np.testing.assert_array_equal(avg["ids"], [0, 1])
    save_weights(avg, tmp_path / "avg.safetensors")
    np.testing.assert_allclose(load_weights(tmp_path / "avg.safetensors")["w"], [[2.0, 4.0]])
    with pytest.raises(ValueError, match="paths"):
        average_weights([pa])
    other = save_weights({"w": np.zeros((2, 2), np.float32), "ids": a["ids"]}, tmp_path / "c.safetensors")
    with pytest.raises(ValueError, match="shapes"):
        average_weights([pa, other])
    renamed = save_weights({"v": a["w"], "ids": a["ids"]}, tmp_path / "d.safetensors")
    with pytest.raises(ValueError, match="other tensors"):
        average_weights([pa, renamed])
    ids = save_weights({"w": a["w"], "ids": np.array([1, 0], np.int64)}, tmp_path / "e.safetensors")
    with pytest.raises(ValueError, match="integer"):
        average_weights([pa, ids])
