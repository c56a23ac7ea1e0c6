"""Shipping bookkeeping: retiring a model removes its folder and entry, never a base still in use."""
import json

import pytest

from roots_zh.hub import registry


def test_retire_model_refuses_a_base_in_use(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "PRETRAINED_DIR", tmp_path)
    monkeypatch.setattr(registry, "REGISTRY_PATH", tmp_path / "registry.json")
    for name in ("old-base", "adapter"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text("{}", encoding="utf-8")
    (tmp_path / "adapter" / "adapter_config.json").write_text(json.dumps({"base_model": "old-base"}))
    registry.register_model("old-base", tmp_path / "old-base")
    registry.register_model("adapter", tmp_path / "adapter")
    with pytest.raises(ValueError, match="adapter"):
        registry.retire_model("old-base")
    registry.retire_model("adapter")
    registry.retire_model("old-base")
    assert registry.load_registry() == {} and not any(tmp_path.glob("*/"))
    with pytest.raises(ValueError, match="not a shipped model"):
        registry.retire_model("old-base")
