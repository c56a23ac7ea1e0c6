"""tools/ship_model.py: shipped models read roots-base's tokenizer files instead of copying them, and a
classifier's lexical leg ships byte for byte."""
import json

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("jieba")
paddle = pytest.importorskip("paddle")

from roots_zh.hub import registry  # noqa: E402
from roots_zh.pipelines.lexical import LEXICAL_FILE  # noqa: E402
from roots_zh.pipelines.text_classification import TextClassifier  # noqa: E402

from tests.pipelines.test_pipelines import make_classifier, toy_data, tokenizer  # noqa: E402,F401  (fixture)


@pytest.fixture
def zoo(tokenizer, tmp_path, monkeypatch):
    """An empty model zoo with a registered roots-base (the tokenizer alone)."""
    zoo = tmp_path / "zoo"
    monkeypatch.setattr(registry, "PRETRAINED_DIR", zoo)
    monkeypatch.setattr(registry, "REGISTRY_PATH", zoo / "registry.json")
    tokenizer.save_pretrained(zoo / "roots-base")
    registry.register_model("roots-base", zoo / "roots-base")
    return zoo


def test_ship_shares_the_base_tokenizer_and_keeps_the_lexical_leg(tokenizer, zoo, tmp_path):
    import ship_model  # tools/ is on the test path (pytest.ini `pythonpath`)

    clf = make_classifier(tokenizer)
    texts, labels = toy_data(40, seed=0)
    clf.fit_lexical(texts, labels)
    clf.save_pretrained(tmp_path / "run" / "final")
    assert ship_model.main(["--from", str(tmp_path / "run"), "--name", "tiny", "--task", "chnsenticorp",
                            "--weight-dtype", "int8"]) == 0

    shipped = zoo / "tiny"
    assert not (shipped / "vocab.txt").exists()
    config = json.loads((shipped / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config["files"]["vocab_file"] == "../roots-base/vocab.txt"
    assert registry.load_registry()["tiny"]["files"]["../roots-base/vocab.txt"] == \
        registry.sha256_file(zoo / "roots-base" / "vocab.txt")
    assert "../roots-base/vocab.txt" in json.loads((shipped / "checksums.json").read_text())
    assert (shipped / LEXICAL_FILE).read_bytes() == (tmp_path / "run" / "final" / LEXICAL_FILE).read_bytes()
    again = TextClassifier.from_pretrained("tiny")
    np.testing.assert_allclose(again.predict_proba(texts[:8]), clf.predict_proba(texts[:8]), atol=0.05)
    with pytest.raises(ValueError, match="read files of roots-base"):
        registry.retire_model("roots-base")
    (zoo / "roots-base" / "vocab.txt").write_text("[PAD]\n", encoding="utf-8")  # the shared file changed
    with pytest.raises(ValueError, match="vocab.txt"):
        TextClassifier.from_pretrained("tiny")


def test_shipping_the_base_itself_keeps_its_tokenizer_files(tokenizer, zoo, tmp_path):
    import ship_model

    make_classifier(tokenizer).save_pretrained(tmp_path / "run" / "final")
    assert ship_model.main(["--from", str(tmp_path / "run"), "--name", "roots-base", "--task", "chnsenticorp"]) == 0
    assert (zoo / "roots-base" / "vocab.txt").is_file()
    assert TextClassifier.from_pretrained("roots-base").labels == ["负面", "正面"]


def test_char_level_int8_model_stores_only_reachable_rows(tmp_path):
    """A character-level tokenizer never produces the multi-character Chinese pieces: shipping
    stops storing their word-embedding rows (a third of the file), and predictions do not change."""
    import ship_model
    from roots_zh.pipelines.token_classification import TokenClassifier

    tagger = TokenClassifier.from_pretrained("roots-base", labels=["w"], scheme="BMES", tokenize_chinese_chars=True)
    tagger.save_pretrained(tmp_path / "m", dtype="int8")
    texts = ["马云在杭州创办了阿里巴巴集团。", "Hello 世界 2024年！"]
    before, size = TokenClassifier.from_pretrained(tmp_path / "m").predict_tag_probs(texts)[0], \
        (tmp_path / "m" / "model.safetensors").stat().st_size
    dropped = ship_model.prune_unreachable_rows(tmp_path / "m")
    assert 8000 < dropped < 12000 and (tmp_path / "m" / "model.safetensors").stat().st_size < 0.75 * size
    after = TokenClassifier.from_pretrained(tmp_path / "m").predict_tag_probs(texts)[0]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    assert ship_model.prune_unreachable_rows(tmp_path / "m") == 0  # already pruned
    tagger.save_pretrained(tmp_path / "fp16", dtype="float16")
    assert ship_model.prune_unreachable_rows(tmp_path / "fp16") == 0  # int8 files only
