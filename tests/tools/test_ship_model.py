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
