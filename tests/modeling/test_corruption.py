"""Corrupted and inconsistent files are detected and the error names the file or field.

Complements tests/modeling/test_modeling.py (truncated/bit-flipped weights with checksums, bad config
JSON/types, registry mismatches) with the tokenizer files, config/weight disagreements, a damaged
safetensors header without checksums, a full ``TextClassifier`` directory and unreadable data lines.
"""
import json
import shutil
from pathlib import Path

import pytest

paddle = pytest.importorskip("paddle")
pytest.importorskip("sentencepiece")

from roots_zh.data.readers import read_jsonl_classification, read_tsv_classification  # noqa: E402
from roots_zh.modeling import RootsConfig, RootsForSequenceClassification  # noqa: E402
from roots_zh.pipelines.text_classification import TextClassifier  # noqa: E402
from roots_zh.tokenization import AutoTokenizer, BertChineseTokenizer  # noqa: E402
from tests.conftest import REPO_ROOT  # noqa: E402

ROOTS_DIR = REPO_ROOT / "pretrained" / "roots-base"


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    """A tiny TextClassifier (real roots-base tokenizer) saved to disk; tests corrupt copies of it."""
    if not (ROOTS_DIR / "spm.model").is_file():
        pytest.skip("pretrained/roots-base is not present")
    tok = AutoTokenizer.from_pretrained(ROOTS_DIR)
    paddle.seed(0)
    cfg = RootsConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=64, max_position_embeddings=64, num_labels=2, id2label={0: "负面", 1: "正面"})
    directory = tmp_path_factory.mktemp("clf") / "model"
    TextClassifier(RootsForSequenceClassification(cfg), tok, max_length=32).save_pretrained(directory)
    return directory


def copy_of(saved: Path, tmp_path: Path, keep_checksums: bool = False) -> Path:
    target = tmp_path / "model"
    shutil.copytree(saved, target)
    if not keep_checksums:
        (target / "checksums.json").unlink(missing_ok=True)
    return target


def edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def test_intact_copy_loads(saved, tmp_path):
    clf = TextClassifier.from_pretrained(copy_of(saved, tmp_path, keep_checksums=True))
    assert clf.labels == ["负面", "正面"] and clf.predict("很好")["label"] in clf.labels


# ---------------------------------------------------------------- tokenizer files
def test_missing_tokenizer_model_is_named(saved, tmp_path):
    d = copy_of(saved, tmp_path)
    (d / "spm.model").unlink()
    with pytest.raises(FileNotFoundError, match="spm.model"):
        TextClassifier.from_pretrained(d)


@pytest.mark.parametrize("damage", ["truncate", "bitflip", "garbage"])
def test_damaged_tokenizer_model_is_named(saved, tmp_path, damage):
    d = copy_of(saved, tmp_path)
    data = bytearray((d / "spm.model").read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 3]
    elif damage == "bitflip":
        data[100] ^= 0xFF
    else:
        data = bytearray(b"\x00\xff" * 64)
    (d / "spm.model").write_bytes(bytes(data))
    with pytest.raises(ValueError, match="spm.model"):
        TextClassifier.from_pretrained(d)


@pytest.mark.parametrize("content, match", [
    ("{oops", "tokenizer_config.json is not valid JSON"),
    ("[1, 2]", "tokenizer_config.json must hold a JSON object"),
])
def test_unreadable_tokenizer_config_is_named(saved, tmp_path, content, match):
    d = copy_of(saved, tmp_path)
    (d / "tokenizer_config.json").write_text(content)
    with pytest.raises(ValueError, match=match):
        TextClassifier.from_pretrained(d)


@pytest.mark.parametrize("changes, error, match", [
    ({"model_max_length": "big"}, ValueError, "model_max_length"),
    ({"normalize": "bogus"}, ValueError, "normalize"),
    ({"normalize": {"lowercase": True}}, ValueError, "normalize has unknown keys|unknown keys"),
    ({"normalize": {"t2s": "yes"}}, TypeError, "t2s"),
    ({"tokenizer_class": "GPT2Tokenizer"}, ValueError, "tokenizer_class"),
])
def test_wrong_tokenizer_config_values_are_named(saved, tmp_path, changes, error, match):
    d = copy_of(saved, tmp_path)
    edit_json(d / "tokenizer_config.json", **changes)
    with pytest.raises(error, match=match):
        TextClassifier.from_pretrained(d)


def test_bert_vocab_missing_or_incomplete(tmp_path):
    with pytest.raises(FileNotFoundError, match="vocab.txt"):
        BertChineseTokenizer.from_pretrained(tmp_path)
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\n你\n好\n", encoding="utf-8")  # no [CLS]/[SEP]/[MASK]
    with pytest.raises(ValueError, match=r"special tokens.*\[CLS\].*vocab.txt"):
        BertChineseTokenizer.from_pretrained(tmp_path)
    (tmp_path / "vocab.txt").write_bytes(b"[PAD]\n\xff\xfe\n")  # not UTF-8
    with pytest.raises((ValueError, UnicodeDecodeError)):
        BertChineseTokenizer.from_pretrained(tmp_path)


# ---------------------------------------------------------------- model config vs weights
@pytest.mark.parametrize("changes, match", [
    ({"id2label": "负面,正面"}, "id2label must be a dict"),
    ({"id2label": {"neg": "负面", "pos": "正面"}}, "id2label keys must be integer ids"),
    ({"num_labels": 3}, "id2label.*num_labels=3"),
    ({"hidden_size": 64}, "embeddings.word_embeddings.weight.*config.json does not match"),
    ({"vocab_size": 100}, "word_embeddings.weight.*config expects"),
    ({"num_hidden_layers": 3}, "lacks backbone weights.*layers.2"),
])
def test_config_that_disagrees_with_weights_is_named(saved, tmp_path, changes, match):
    d = copy_of(saved, tmp_path)
    edit_json(d / "config.json", **changes)
    with pytest.raises(ValueError, match=match):
        TextClassifier.from_pretrained(d)


def test_missing_tensor_and_damaged_header_without_checksums(saved, tmp_path):
    from safetensors.numpy import load_file, save_file

    d = copy_of(saved, tmp_path)
    weights = d / "model.safetensors"
    state = load_file(str(weights))
    del state["roots.embeddings.layer_norm.weight"]
    save_file(state, str(weights))
    with pytest.raises(ValueError, match="roots.embeddings.layer_norm.weight"):
        TextClassifier.from_pretrained(d)
    shutil.copy(saved / "model.safetensors", weights)
    data = bytearray(weights.read_bytes())
    data[20] ^= 0x01  # inside the JSON header
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="cannot read weights.*model.safetensors"):
        TextClassifier.from_pretrained(d)


def test_checksums_catch_a_flip_the_parser_cannot_see(saved, tmp_path):
    d = copy_of(saved, tmp_path, keep_checksums=True)
    weights = d / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0x10  # a weight value: still a well-formed file
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="model.safetensors.*corrupted or truncated"):
        TextClassifier.from_pretrained(d)


# ---------------------------------------------------------------- data files
def test_unreadable_jsonl_lines_are_skipped_and_named(tmp_path):
    path = tmp_path / "train.json"
    good = json.dumps({"sentence": "很好", "label_desc": "pos"}, ensure_ascii=False).encode()
    lines = [
        good,
        good.replace("很".encode(), b"\xe5\xbe"),  # truncated UTF-8 sequence (bit rot)
        b'{"sentence": "cut off',  # truncated JSON
        b"[1, 2]",  # not an object
        json.dumps({"text": "wrong key"}).encode(),
        json.dumps({"sentence": "   ", "label_desc": "neg"}).encode(),
        json.dumps({"sentence": 3, "label_desc": "neg"}).encode(),
        b"",
        good,
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    examples, report = read_jsonl_classification(path)
    assert [e.text for e in examples] == ["很好", "很好"]
    assert report.read == 2 and report.skipped == 6
    assert report.first_errors[0] == "line 2: invalid UTF-8 at byte 14"
    assert [e.split(":")[0] for e in report.first_errors] == [f"line {i}" for i in range(2, 7)]


def test_unreadable_tsv_lines_and_binary_garbage(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_bytes("label\ttext_a\n1\t很好\r\n0\t太差\textra\n\xff\n1\t\n0\t一般\n".encode("utf-8", "surrogateescape")
                     .replace(b"\xc3\xbf", b"\xff"))
    examples, report = read_tsv_classification(path)
    assert [(e.label, e.text) for e in examples] == [("1", "很好"), ("0", "一般")]
    assert report.skipped == 3 and "line 3: ValueError: 3 cells" in report.first_errors[0]
    assert report.first_errors[1] == "line 4: invalid UTF-8 at byte 0"
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(bytes(range(256)) * 40)
    examples, report = read_jsonl_classification(garbage)
    assert examples == [] and report.skipped >= 1
    with pytest.raises(FileNotFoundError, match="missing.json"):
        read_jsonl_classification(tmp_path / "missing.json")
