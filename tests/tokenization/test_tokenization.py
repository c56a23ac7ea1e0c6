"""Tests of roots_zh.tokenization: normalisation, the BERT-Chinese tokenizer (parity with PaddleNLP
on real corpus lines), the SentencePiece RootsTokenizer, the common __call__ API and AutoTokenizer."""
from __future__ import annotations

import json
import pickle
import re
import subprocess
import sys
import unicodedata
from collections import Counter
from pathlib import Path
from typing import List

import pytest

from tests.conftest import REPO_ROOT, corpus_lines, shared_data
from roots_zh.tokenization.auto import AutoTokenizer
from roots_zh.tokenization.base import BatchEncoding
from roots_zh.tokenization.bert_chinese import BertChineseTokenizer, _strip_accents
from roots_zh.tokenization.normalize import _CF, map_offsets, normalize, normalize_with_offsets

ENGINES = ["fast", "python"]
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
BAD_TEXTS = {
    "empty": "",
    "whitespace": " \t\n\u3000 ",
    "emoji": "今天很开心😀👍🏽！",
    "traditional": "臺灣的繁體中文與簡體中文",
    "lone_low_surrogate": "前\udc80后",
    "lone_high_surrogate": "\ud800中",
    "nul": "中\x00国",
    "zero_width": "中\u200b国\u200d人\ufeff",
    "rtl_marks": "\u202eabc\u202c 和 \u200fשלום\u200e",
}


# ------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def tiny_vocab(tmp_path_factory) -> Path:
    """A hand-made vocab: specials, a few CJK chars, English words and ## pieces."""
    tokens = SPECIALS + list("我爱北京天安门中国人民你好世界今开心很前后和") + [
        "hello", "world", "un", "##aff", "##able", "a", "b", "c", "abc", "##c", "##b", "!", ",", ".", "?",
        "1", "2", "##3", "12", "e", "x", "[", "]", "##s", "cl",
    ]
    path = tmp_path_factory.mktemp("tiny") / "vocab.txt"
    path.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return path


def build_corpus_vocab(lines: List[str], path: Path) -> Path:
    """A realistic vocab built from data: specials, chars seen >= 3 times (rarer ones -> [UNK]),
    ##-continuations of Latin letters/digits, frequent English words and ## suffixes."""
    chars, words, suffixes = Counter(), Counter(), Counter()
    for line in lines:
        low = _strip_accents(line.lower())
        chars.update(c for c in low if not c.isspace())
        for w in re.findall(r"[a-z]+", low):
            words[w] += 1
            for k in range(1, len(w)):
                if len(w) - k <= 5:
                    suffixes[w[k:]] += 1
    vocab = SPECIALS + sorted(c for c, n in chars.items() if n >= 3)
    vocab += ["##" + c for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
    vocab += [w for w, _ in words.most_common(3000)] + ["##" + s for s, _ in suffixes.most_common(1500)]
    vocab += ["100", "2020", "##00"]
    seen, ordered = set(), []
    for t in vocab:
        if t not in seen:
            seen.add(t)
            ordered.append(t)
    path.write_text("\n".join(ordered) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def parity_lines() -> List[str]:
    return corpus_lines(5200)


@pytest.fixture(scope="module")
def corpus_vocab(tmp_path_factory) -> Path:
    # built from other lines than the parity lines (skip=0, step 7), so [UNK] and ## really occur
    return build_corpus_vocab(corpus_lines(4000, step=7, skip=0), tmp_path_factory.mktemp("cv") / "vocab.txt")


@pytest.fixture(scope="module")
def paddle_tok(corpus_vocab):
    transformers = pytest.importorskip("paddlenlp.transformers")
    return transformers.BertTokenizer(str(corpus_vocab))


@pytest.fixture(scope="module")
def paddle_ref_ids(paddle_tok, parity_lines) -> List[List[int]]:
    """PaddleNLP BertTokenizer ids of the parity lines (computed once: ~10 s)."""
    return [paddle_tok(t)["input_ids"] for t in parity_lines]


@pytest.fixture(scope="module")
def tiny_spm(tmp_path_factory):
    """A small SentencePiece model trained here (seconds) on real zh + en lines."""
    pytest.importorskip("sentencepiece")
    from roots_zh.tokenization.sentencepiece_tokenizer import RootsTokenizer, train_sentencepiece

    lines = [line[:120] for line in corpus_lines(3000, step=2, skip=0)]  # ~360k chars: a few seconds
    proto = train_sentencepiece(lines, 4000, character_coverage=0.98, hard_vocab_limit=False)
    path = tmp_path_factory.mktemp("spm") / "spm.model"
    path.write_bytes(proto)
    return RootsTokenizer(str(path))


# ------------------------------------------------------------------------------------ imports
def test_import_is_cheap_and_layered():
    code = (
        "import sys, roots_zh, roots_zh.tokenization\n"
        "import roots_zh.tokenization.base, roots_zh.tokenization.normalize, roots_zh.tokenization.auto\n"
        "import roots_zh.tokenization.bert_chinese, roots_zh.tokenization.segment\n"
        "import roots_zh.tokenization.sentencepiece_tokenizer\n"
        "bad = [m for m in ('paddle', 'paddlenlp', 'jieba', 'tokenizers', 'sentencepiece', 'roots_zh.modeling')"
        " if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"eagerly imported: {out.stdout}"


def test_lazy_public_names():
    import roots_zh

    assert roots_zh.BertChineseTokenizer is BertChineseTokenizer
    assert roots_zh.AutoTokenizer is AutoTokenizer
    assert callable(roots_zh.segment)


# ------------------------------------------------------------------------------------ normalize
def test_normalize_rules_and_offsets():
    text = "Ａｂｃ，１２３！\u3000中\u200b文\x07\t末\u2028行\ud800"
    norm, index_map = normalize_with_offsets(text)
    assert norm == "Abc,123! 中文 末 行"
    assert len(index_map) == len(norm)
    for i, ch in enumerate(norm):  # every output char comes from its mapped original char
        assert normalize(text[index_map[i]]) == ch
    assert normalize_with_offsets("普通文本 plain")[1] is None  # nothing changed: identity, no map
    spans = map_offsets([(0, 3), (9, 11)], index_map, len(text))
    assert text[spans[0][0]:spans[0][1]] == "Ａｂｃ"
    assert normalize(text[spans[1][0]:spans[1][1]]) == "中文"


def test_normalize_format_table_matches_unicodedata():
    cf = {chr(cp) for cp in range(0x110000) if unicodedata.category(chr(cp)) == "Cf"}
    table = set()
    for a, b in re.findall(r"(.)(?:-(.))?", _CF):
        table.update(map(chr, range(ord(a), ord(b or a) + 1)))
    assert table == cf


# ------------------------------------------------------------------------------------ BERT basics
@pytest.mark.parametrize("engine", ENGINES)
def test_wordpiece_and_offsets(tiny_vocab, engine):
    tok = BertChineseTokenizer(str(tiny_vocab), engine=engine)
    assert tok.engine == engine
    text = "我爱北京 UNAFFABLE, hello  wörld zzz!"
    assert tok.tokenize(text) == ["我", "爱", "北", "京", "un", "##aff", "##able", ",", "hello", "world", "[UNK]", "!"]
    enc = tok(text, return_offsets_mapping=True)
    assert enc["input_ids"][0] == tok.cls_token_id and enc["input_ids"][-1] == tok.sep_token_id
    assert enc["offset_mapping"][0] == (0, 0) and enc["offset_mapping"][-1] == (0, 0)
    spans = [text[s:e] for s, e in enc["offset_mapping"][1:-1]]
    assert spans == ["我", "爱", "北", "京", "UN", "AFF", "ABLE", ",", "hello", "wörld", "zzz", "!"]
    assert enc["attention_mask"] == [1] * len(enc["input_ids"])
    assert enc["token_type_ids"] == [0] * len(enc["input_ids"])


def test_special_token_ids_and_len(tiny_vocab):
    tok = BertChineseTokenizer(str(tiny_vocab))
    assert [tok.pad_token_id, tok.unk_token_id, tok.cls_token_id, tok.sep_token_id, tok.mask_token_id] == [0, 1, 2, 3, 4]
    assert len(tok) == tok.vocab_size == len(tiny_vocab.read_text(encoding="utf-8").splitlines())
    assert tok.convert_tokens_to_ids(["我", "nope"]) == [tok.vocab["我"], tok.unk_token_id]
    assert tok.convert_ids_to_tokens([2, tok.vocab["我"], 3], skip_special_tokens=True) == ["我"]
    with pytest.raises(ValueError, match="out of range"):
        tok.convert_ids_to_tokens(10_000)


def test_missing_special_token_in_vocab(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("[PAD]\n[CLS]\n[SEP]\n中\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"\[UNK\]"):
        BertChineseTokenizer(str(path))


@pytest.mark.parametrize("engine", ENGINES)
def test_pair_encoding(tiny_vocab, engine):
    tok = BertChineseTokenizer(str(tiny_vocab), engine=engine)
    enc = tok("我爱北京", "你好世界!", return_offsets_mapping=True)
    ids = enc["input_ids"]
    assert ids == [2] + tok.convert_tokens_to_ids(list("我爱北京")) + [3] + tok.convert_tokens_to_ids(
        list("你好世界") + ["!"]) + [3]
    assert enc["token_type_ids"] == [0] * 6 + [1] * 6
    assert enc["offset_mapping"][6] == (0, 1)  # offsets of B index B
    batch = tok([("我", "你好"), ("北京天安门", "中国")])
    assert batch["token_type_ids"][1] == [0] * 7 + [1] * 3
    assert batch == tok(["我", "北京天安门"], ["你好", "中国"])


@pytest.mark.parametrize("engine", ENGINES)
def test_padding_truncation_shapes(tiny_vocab, engine):
    np = pytest.importorskip("numpy")
    tok = BertChineseTokenizer(str(tiny_vocab), engine=engine)
    texts = ["我爱北京天安门", "你好", ""]
    enc = tok(texts, padding=True)
    assert [len(x) for x in enc["input_ids"]] == [9, 9, 9]
    assert enc["attention_mask"][1] == [1] * 4 + [0] * 5
    assert enc["input_ids"][2] == [2, 3] + [0] * 7
    enc = tok(texts, padding="max_length", max_length=12, return_tensors="np", return_offsets_mapping=True)
    assert enc["input_ids"].shape == (3, 12) and enc["input_ids"].dtype == np.int64
    assert enc["offset_mapping"].shape == (3, 12, 2)
    assert int(enc["attention_mask"].sum()) == 9 + 4 + 2
    enc = tok(texts, truncation=True, max_length=5, padding=True, return_tensors="np")
    assert enc["input_ids"].shape == (3, 5)
    assert enc["input_ids"][0].tolist() == [2] + tok.convert_tokens_to_ids(list("我爱北")) + [3]
    single = tok("我爱", return_tensors="np")
    assert single["input_ids"].shape == (1, 4)
    with pytest.raises(ValueError, match="input_ids"):
        tok(texts, return_tensors="np")  # ragged without padding
    # max_length without truncation: the full ids come back (pipelines window long texts)
    assert len(tok("我爱北京天安门", max_length=4)["input_ids"]) == 9


def test_truncation_strategies(tiny_vocab):
    tok = BertChineseTokenizer(str(tiny_vocab))
    a, b = "我爱北京天安门", "你好世界"  # 7 and 4 tokens
    lens = lambda enc: (enc["token_type_ids"].count(0) - 2, enc["token_type_ids"].count(1) - 1)  # noqa: E731
    assert lens(tok(a, b, truncation=True, max_length=10)) == (4, 3)  # longest_first: 7->4, tie trims B
    assert lens(tok(a, b, truncation="only_first", max_length=10)) == (3, 4)
    assert lens(tok(a, b, truncation="only_second", max_length=10)) == (7, 0)
    with pytest.raises(ValueError, match="second sequence"):
        tok(a, b, truncation="only_second", max_length=8)
    with pytest.raises(ValueError, match="max_length"):
        tok(a, b, truncation=True, max_length=2)
    with pytest.raises(ValueError, match="padding"):
        tok(a, padding="sideways")
    with pytest.raises(ValueError, match="max_length"):
        tok(a, max_length=0)
    assert len(tok(a, truncation=True)["input_ids"]) == 9  # model_max_length (512) is the default


@pytest.mark.parametrize("engine", ENGINES)
def test_bad_inputs(tiny_vocab, engine):
    tok = BertChineseTokenizer(str(tiny_vocab), engine=engine)
    with pytest.raises(ValueError, match="text"):
        tok(None)
    with pytest.raises(TypeError, match="text"):
        tok(123)
    with pytest.raises(ValueError, match=r"text\[1\]"):
        tok(["ok", None])
    with pytest.raises(TypeError, match="text_pair"):
        tok("a", 5)
    with pytest.raises(ValueError, match="text_pair"):
        tok(["a", "b"], ["c"])
    with pytest.raises(TypeError):
        tok.tokenize(b"bytes")
    with pytest.raises(ValueError, match="ids"):
        tok.decode(None)
    for name, text in BAD_TEXTS.items():
        enc = tok(text, return_offsets_mapping=True)
        ids, offsets = enc["input_ids"], enc["offset_mapping"]
        assert ids[0] == 2 and ids[-1] == 3, name
        for (s, e), i in zip(offsets[1:-1], ids[1:-1]):
            assert 0 <= s < e <= len(text), name
            piece = text[s:e]
            assert not re.search("[\ud800-\udfff\x00\u200b-\u200f\u202a-\u202e\ufeff]", piece), (name, piece)
    assert tok("")["input_ids"] == [2, 3] and tok("  \n ")["input_ids"] == [2, 3]
    assert tok(BAD_TEXTS["zero_width"])["input_ids"] == tok("中国人")["input_ids"]
    assert tok(BAD_TEXTS["nul"])["input_ids"] == tok("中国")["input_ids"]
    assert tok(BAD_TEXTS["lone_low_surrogate"])["input_ids"] == tok("前后")["input_ids"]
    assert tok(BAD_TEXTS["emoji"])["input_ids"][1:-1] == [tok.vocab[c] for c in "今天很开心"] + [1, 1, 1, 1]
    long_text = "我爱北京天安门。" * 25_000  # 200,000 chars
    enc = tok(long_text)
    assert len(enc["input_ids"]) == 200_002
    assert len(tok(long_text, truncation=True, max_length=128)["input_ids"]) == 128


@pytest.mark.parametrize("engine", ENGINES)
def test_decode(tiny_vocab, engine):
    tok = BertChineseTokenizer(str(tiny_vocab), engine=engine)
    ids = tok.encode("我爱北京 hello world, unaffable!")
    # BERT keeps no whitespace: spaces next to CJK and before punctuation are dropped on decode
    assert tok.decode(ids) == "我爱北京hello world, unaffable!"
    assert tok.decode(ids, skip_special_tokens=False).startswith("[CLS]")
    assert tok.decode([]) == ""
    assert tok.batch_decode([ids, tok.encode("你好")]) == ["我爱北京hello world, unaffable!", "你好"]


def test_save_load_roundtrip_bert(tiny_vocab, tmp_path):
    tok = BertChineseTokenizer(str(tiny_vocab), do_lower_case=False, model_max_length=64)
    written = tok.save_pretrained(tmp_path / "bert")
    assert {p.name for p in written} == {"vocab.txt", "tokenizer_config.json"}
    config = json.loads((tmp_path / "bert" / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config["tokenizer_class"] == "BertChineseTokenizer" and config["do_lower_case"] is False
    for loaded in (BertChineseTokenizer.from_pretrained(tmp_path / "bert"), AutoTokenizer.from_pretrained(tmp_path / "bert")):
        assert isinstance(loaded, BertChineseTokenizer)
        assert loaded.do_lower_case is False and loaded.model_max_length == 64
        assert loaded.get_vocab() == tok.get_vocab()
        assert loaded("Hello 我爱你") == tok("Hello 我爱你")
    clone = pickle.loads(pickle.dumps(tok))
    assert clone.engine == tok.engine and clone("hello 北京") == tok("hello 北京")


def test_auto_tokenizer_errors(tiny_vocab, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        AutoTokenizer.from_pretrained(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"spm\.model or vocab\.txt"):
        AutoTokenizer.from_pretrained(tmp_path / "empty")
    with pytest.raises(ValueError, match="pretrained_dir"):
        AutoTokenizer.from_pretrained(None)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "tokenizer_config.json").write_text('{"tokenizer_class": "GPT9Tokenizer"}', encoding="utf-8")
    with pytest.raises(ValueError, match="GPT9Tokenizer"):
        AutoTokenizer.from_pretrained(bad)
    (bad / "tokenizer_config.json").write_text('{"tokenizer_class": "BertChineseTokenizer"}', encoding="utf-8")
    with pytest.raises(FileNotFoundError, match="vocab.txt"):
        AutoTokenizer.from_pretrained(bad)
    (bad / "tokenizer_config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="JSON"):
        AutoTokenizer.from_pretrained(bad)
    # a plain vocab.txt directory (e.g. a PaddleNLP download) is picked up without a config
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "vocab.txt").write_bytes(tiny_vocab.read_bytes())
    assert isinstance(AutoTokenizer.from_pretrained(plain), BertChineseTokenizer)


# ------------------------------------------------------------------------------------ PaddleNLP parity
def _paddle_ids(paddle_tok, texts):
    return [paddle_tok(t)["input_ids"] for t in texts]


def test_parity_with_paddlenlp_corpus(paddle_ref_ids, corpus_vocab, parity_lines):
    """Fast engine ids == PaddleNLP BertTokenizer ids on >= 5,000 real lines from all 13 files."""
    assert len(parity_lines) >= 5000
    files = {p.name for p in (shared_data() / "corpus").glob("*.txt.gz")}
    assert {"en_zh_parallel.txt.gz", "tech_weekly_mixed.txt.gz"} <= files
    assert sum(bool(re.search("[A-Za-z]{3}", t)) for t in parity_lines) > 1000  # English is in there
    tok = BertChineseTokenizer(str(corpus_vocab))
    assert tok.engine == "fast"
    ours = tok(parity_lines)["input_ids"]
    ref = paddle_ref_ids
    bad = [i for i, (a, b) in enumerate(zip(ours, ref)) if a != b]
    assert not bad, f"{len(bad)} mismatches, first: {parity_lines[bad[0]][:200]!r}"
    n_unk = sum(ids.count(tok.unk_token_id) for ids in ours)
    n_cont = sum(1 for ids in ours for i in ids if tok.ids_to_tokens[i].startswith("##"))
    assert n_unk > 0 and n_cont > 0  # the vocab really exercises [UNK] and ## pieces
    # the python engine on a slice (all of it: test_parity_python_engine_full, marked slow)
    py = BertChineseTokenizer(str(corpus_vocab), engine="python")
    assert py(parity_lines[::10])["input_ids"] == ref[::10]


@pytest.mark.slow
def test_parity_python_engine_full(paddle_ref_ids, corpus_vocab, parity_lines):
    py = BertChineseTokenizer(str(corpus_vocab), engine="python")
    assert py(parity_lines)["input_ids"] == paddle_ref_ids


def test_parity_with_paddlenlp_chnsenticorp(paddle_tok, corpus_vocab):
    texts = []
    for split in ("dev", "test"):
        lines = (shared_data() / "chnsenticorp" / f"{split}.tsv").read_text(encoding="utf-8").splitlines()
        texts += [l.split("\t", 1)[1] for l in lines[1:] if "\t" in l]
    assert len(texts) > 2000
    tok = BertChineseTokenizer(str(corpus_vocab))
    assert tok(texts)["input_ids"] == _paddle_ids(paddle_tok, texts)


@pytest.mark.parametrize("engine", ENGINES)
def test_parity_edge_cases(paddle_tok, corpus_vocab, engine):
    tok = BertChineseTokenizer(str(corpus_vocab), engine=engine)
    texts = list(BAD_TEXTS.values()) + [
        "hello[SEP]world [MASK] x", "中[MASK]文", "\u200b[MASK]\u200b", "[CL\u200bS] a", "[unk]",
        "ΟΔΟΣ Σ İstanbul ﬁx", "€100 ²µ Ø ŋ Ʊ 〇 ①", "e\u0301\u0327 中\u0301文", "豈更車", "x" * 150,
        "Ｆｕｌｌ，ｗｉｄｔｈ！", "tab\tnew\nline\r\x85\u2028\u2029end", "한국어 日本語ひらがな",
    ]
    assert [tok.encode(t) for t in texts] == _paddle_ids(paddle_tok, texts)


@pytest.mark.parametrize("options", [{"do_lower_case": False}, {"do_lower_case": False, "strip_accents": True},
                                     {"tokenize_chinese_chars": False}])
def test_parity_options(corpus_vocab, parity_lines, options):
    transformers = pytest.importorskip("paddlenlp.transformers")
    ref = transformers.BertTokenizer(str(corpus_vocab), **options)
    texts = parity_lines[::20] + ["Héllo WORLD [MASK] [CL\u200bS] ΟΔΟΣ", "中文English混合Text"]
    expected = _paddle_ids(ref, texts)
    for engine in ENGINES:
        tok = BertChineseTokenizer(str(corpus_vocab), engine=engine, **options)
        assert tok(texts)["input_ids"] == expected, (engine, options)


def test_parity_all_bmp_chars(paddle_tok, corpus_vocab):
    """Every BMP code point, alone and inside a word, classified exactly like PaddleNLP."""
    tok = BertChineseTokenizer(str(corpus_vocab))
    for start in range(0, 0x10000, 0x2000):
        chars = [chr(cp) for cp in range(start, start + 0x2000) if not 0xD800 <= cp <= 0xDFFF]
        if not chars:
            continue
        text = " ".join(f"a{c}b {c} X{c}" for c in chars)
        assert tok.encode(text) == paddle_tok(text)["input_ids"], hex(start)


@pytest.mark.slow
def test_parity_all_code_points(paddle_tok, corpus_vocab):
    tok = BertChineseTokenizer(str(corpus_vocab))
    for start in range(0x10000, 0x110000, 0x4000):
        text = " ".join(f"a{chr(cp)}b {chr(cp)}" for cp in range(start, start + 0x4000))
        assert tok.encode(text) == paddle_tok(text)["input_ids"], hex(start)


def test_offsets_index_original_corpus(corpus_vocab, parity_lines):
    lines = parity_lines[::5] + list(BAD_TEXTS.values()) + ["ＡＢＣ café\u200b中\u0301文 İx"]
    for engine in ENGINES:
        tok = BertChineseTokenizer(str(corpus_vocab), engine=engine)
        enc = tok(lines, return_offsets_mapping=True, add_special_tokens=False)
        for text, ids, offsets in zip(lines, enc["input_ids"], enc["offset_mapping"]):
            for i, (s, e) in zip(ids, offsets):
                token = tok.ids_to_tokens[i]
                assert 0 <= s < e <= len(text)
                if len(token) == 1 and 0x4E00 <= ord(token) <= 0x9FFF:
                    assert text[s:e] == token  # CJK: the exact original char
                elif token != "[UNK]":
                    seg = "".join(c for c in _strip_accents(text[s:e].lower()) if unicodedata.category(c)[0] != "C")
                    assert seg == token.replace("##", "", 1), (engine, text[s:e], token)


# ------------------------------------------------------------------------------------ RootsTokenizer
def test_roots_special_ids(tiny_spm):
    tok = tiny_spm
    assert [tok.pad_token_id, tok.unk_token_id, tok.cls_token_id, tok.sep_token_id, tok.mask_token_id] == [0, 1, 2, 3, 4]
    assert tok.convert_ids_to_tokens([0, 1, 2, 3, 4]) == SPECIALS
    ids = tok.convert_tokens_to_ids(["[unused0]", "[ZH2EN]", "[EN2ZH]", "[SUM]", "[BOS]", "[EOS]"])
    assert ids == [5, 15, 16, 17, 18, 19]
    enc = tok("[ZH2EN]你好[MASK]")  # user-defined symbols are matched in text
    assert enc["input_ids"][:2] == [2, 15] and 4 in enc["input_ids"] and enc["input_ids"][-1] == 3
    assert tok.sp.is_byte(tok.convert_tokens_to_ids("<0xE4>"))


def test_roots_roundtrip_real_lines(tiny_spm, parity_lines):
    tok = tiny_spm
    lines = parity_lines[::10] + ["Ｆｕｌｌ－ｗｉｄｔｈ，全角！", "  two  spaces\tand tab ", "数字2024年12月31日"]
    for text in lines:
        ids = tok.encode(text, add_special_tokens=False)
        assert tok.decode(ids) == normalize(text)
    assert tok.decode(tok.encode("你好")) == "你好"  # [CLS]/[SEP] skipped by default
    assert tok.decode(tok.encode("你好"), skip_special_tokens=False) == "[CLS]你好[SEP]"
    assert all(p in ("2", "0", "4") for p in tok.tokenize("2024") if p.strip("▁"))  # split_digits


def test_roots_offsets_and_byte_fallback(tiny_spm, parity_lines):
    tok = tiny_spm
    texts = parity_lines[::25] + ["罕见字：龘靐齉𠀀😀 ok", "Ａｂｃ\u200b中文\ud800 end"] + list(BAD_TEXTS.values())
    enc = tok(texts, return_offsets_mapping=True, add_special_tokens=False)
    for text, ids, offsets in zip(texts, enc["input_ids"], enc["offset_mapping"]):
        assert len(ids) == len(offsets)
        for i, (s, e) in zip(ids, offsets):
            assert 0 <= s < e <= len(text), (text, i)
            piece = tok.convert_ids_to_tokens(i)
            if not tok.sp.is_byte(i):
                assert normalize(text[s:e]) == piece.replace("▁", " "), (piece, text[s:e])
    enc = tok("龘", return_offsets_mapping=True, add_special_tokens=False)
    assert len(enc["input_ids"]) == 3 and all(tok.sp.is_byte(i) for i in enc["input_ids"])  # 3 UTF-8 bytes
    assert enc["offset_mapping"] == [(0, 1)] * 3
    assert tok.decode(enc["input_ids"]) == "龘"


def test_roots_bad_inputs(tiny_spm):
    tok = tiny_spm
    with pytest.raises(ValueError, match="text"):
        tok(None)
    with pytest.raises(TypeError, match="text"):
        tok(3.5)
    assert tok("")["input_ids"] == [2, 3]
    assert tok("\u200b\u200e\x00")["input_ids"] == [2, 3]
    assert tok(BAD_TEXTS["lone_low_surrogate"])["input_ids"] == tok("前后")["input_ids"]
    assert len(tok("中文" * 100_000)["input_ids"]) > 1000
    assert tok("中文" * 100_000, truncation=True, max_length=64)["input_ids"][-1] == 3
    out = tok(["你好", "世界和平很好"], padding=True, return_tensors="np")
    assert out["input_ids"].shape[0] == 2 and out["attention_mask"][0, -1] == 0


def test_roots_pickle_and_save_load(tiny_spm, tmp_path):
    from roots_zh.tokenization.sentencepiece_tokenizer import RootsTokenizer

    tok = tiny_spm
    clone = pickle.loads(pickle.dumps(tok))
    text = "今天天气不错 nice weather!"
    assert clone(text) == tok(text)
    written = tok.save_pretrained(tmp_path / "roots")
    assert {p.name for p in written} >= {"spm.model", "tokenizer_config.json"}
    assert (tmp_path / "roots" / "spm.vocab").read_text(encoding="utf-8").startswith("[PAD]\t")
    loaded = AutoTokenizer.from_pretrained(tmp_path / "roots")
    assert isinstance(loaded, RootsTokenizer) and loaded(text) == tok(text)
    config = json.loads((tmp_path / "roots" / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config["tokenizer_class"] == "RootsTokenizer" and config["do_lower_case"] is False
    with pytest.raises(ValueError, match="RootsTokenizer"):
        BertChineseTokenizer.from_pretrained(tmp_path / "roots")
    (tmp_path / "roots" / "tokenizer_config.json").unlink()
    assert isinstance(AutoTokenizer.from_pretrained(tmp_path / "roots"), RootsTokenizer)  # by spm.model
    from roots_zh.tokenization.sentencepiece_tokenizer import train_sentencepiece

    plain = train_sentencepiece(["你好世界"] * 50 + ["hello world"] * 50, 300, hard_vocab_limit=False,
                                user_defined_symbols=[])
    with pytest.raises(ValueError, match="special pieces"):
        RootsTokenizer(model_proto=plain)


def test_shipped_roots_model():
    model_dir = REPO_ROOT / "pretrained" / "roots-base"
    if not (model_dir / "spm.model").is_file():
        pytest.skip("pretrained/roots-base/spm.model not trained yet (tools/train_tokenizer.py)")
    tok = AutoTokenizer.from_pretrained(model_dir)
    assert type(tok).__name__ == "RootsTokenizer"
    assert 8000 <= tok.vocab_size <= 40000
    assert tok.convert_ids_to_tokens([0, 1, 2, 3, 4]) == SPECIALS
    for text in ["中华人民共和国成立于1949年。", "The quick brown fox jumps over the lazy dog.", "今天天气不错，我们去公园吧！"]:
        ids = tok.encode(text, add_special_tokens=False)
        assert tok.decode(ids) == normalize(text)
        assert len(ids) < len(text)  # subwords: fewer tokens than chars for ordinary zh/en text
