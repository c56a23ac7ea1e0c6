"""Property-based fuzzing (hypothesis) of tokenizers, segmentation, normalisation and TextClassifier.

Inputs: random Unicode from every plane (lone surrogates, RTL/bidi marks, NUL, zero-width chars,
BOM, full-width and traditional text, URLs/@mentions/#hashtags#), empty and huge batches, wrong
types. Invariants: a defined result or a clear ValueError/TypeError; offsets index the original
string and ``text[s:e]`` is what the token covers; no hang (hypothesis ``deadline`` per call).

The number of generated cases run is reported by the last test as a warning (visible in
``pytest -q``'s warnings summary). ``-m slow`` runs the same properties with many more examples.
"""
from __future__ import annotations

import collections
import functools
import unicodedata
import warnings
from datetime import timedelta
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from roots_zh.tokenization.normalize import PRESETS, Normalizer, normalize, protected_spans  # noqa: E402
from tests.conftest import REPO_ROOT  # noqa: E402

REPO = REPO_ROOT
ROOTS_DIR = REPO / "pretrained" / "roots-base"
CASES: "collections.Counter[str]" = collections.Counter()
DEADLINE = timedelta(seconds=5)  # per generated case: a hang or a quadratic blow-up fails
FAST, SLOW = 40, 600

# ---------------------------------------------------------------- strategies
SPECIALS = ["\x00", "\u200b", "\u200d", "\ufeff", "\u202e", "\u202d", "\u2066", "\u061c", "\u00ad",
            "\ud800", "\udfff", "\ud83d", "\u3000", "\u00a0", "\t", "\r\n", "\u2028", "\ufffd", "[MASK]",
            "[CLS]", "！！！", "？？", "。。。", "……", "Ａｂ１", "臺灣", "這家飯店", "乾隆", "頭髮",
            "http://例子.com/臺?q=Ａ", "www.example.com", "a.b@mail.cn", "@張三", "#話題#", "#tag",
            "\U0001f600", "\U00020000", "\U0010ffff", "e\u0301", "ﬁ", "İ", "ß", "\U000e0001"]
any_char = st.characters(exclude_categories=())  # every plane, surrogates and unassigned included
text_st = st.lists(st.one_of(any_char, st.sampled_from(SPECIALS), st.sampled_from("这家酒店服务很好，。 ab1")),
                   max_size=60).map("".join)
preset_st = st.sampled_from(sorted(PRESETS))
WRONG = [None, 1, 1.5, b"bytes", ["ok", None], ["ok", 3], {"text": "x"}, object(), [["a", "b", "c"]]]


def prop(n: int, *strategies):
    """``given`` + settings: ``n`` examples, bounded time per example."""

    def wrap(fn):
        return settings(max_examples=n, deadline=DEADLINE, derandomize=n == FAST, database=None,
                        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])(
            given(*strategies)(fn))

    return wrap


def counted(name: str) -> None:
    CASES[name] += 1


# ---------------------------------------------------------------- shared objects
@functools.lru_cache(maxsize=None)
def roots_tokenizer():
    pytest.importorskip("sentencepiece")
    if not (ROOTS_DIR / "spm.model").is_file():
        pytest.skip("pretrained/roots-base is not present")
    from roots_zh.tokenization import RootsTokenizer

    return RootsTokenizer.from_pretrained(ROOTS_DIR)


@functools.lru_cache(maxsize=None)
def bert_tokenizer(engine: str):
    import tempfile

    from roots_zh.tokenization import BertChineseTokenizer

    if engine == "fast":
        pytest.importorskip("tokenizers")
    chars = sorted(set("这家酒店服务很好台湾饭例子话题张三头发乾隆干") | set("abcdefghijklmnopqrstuvwxyz0123456789"))
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "##a", "##b", "##1", "http", "com", "www"]
    punct = list("!?,.。，！？:/@#-") + ["##" + c for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
    path = Path(tempfile.mkdtemp()) / "vocab.txt"
    path.write_text("\n".join(dict.fromkeys(words + chars + punct)) + "\n", encoding="utf-8")
    return BertChineseTokenizer(str(path), engine=engine)


@functools.lru_cache(maxsize=None)
def tiny_classifier():
    paddle = pytest.importorskip("paddle")
    from roots_zh.modeling import RootsConfig, RootsForSequenceClassification
    from roots_zh.pipelines.text_classification import TextClassifier

    tok = roots_tokenizer()
    paddle.seed(0)
    cfg = RootsConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=64, max_position_embeddings=64, num_labels=3,
                      id2label={0: "a", 1: "b", 2: "c"})
    return TextClassifier(RootsForSequenceClassification(cfg), tok, max_length=32)


def with_normalizer(tok, preset: str):
    """A shallow copy of ``tok`` with another ``normalize=`` option (the cached one stays as is)."""
    import copy

    clone = copy.copy(tok)
    clone.normalizer = preset
    return clone


# ---------------------------------------------------------------- normalisation
def _check_normalizer(text: str, preset: str) -> None:
    counted("normalize")
    norm = Normalizer.from_config(preset)
    out, index_map = norm.with_offsets(text)
    assert isinstance(out, str)
    if index_map is None:
        assert out == text
        return
    assert len(index_map) == len(out)
    assert all(0 <= i < len(text) for i in index_map)
    assert all(a <= b for a, b in zip(index_map, index_map[1:])), "map must be monotone"
    if preset in ("basic", "web"):  # char rules: every output char comes from its mapped input char
        assert all(a < b for a, b in zip(index_map, index_map[1:]))
        for ch, i in zip(out, index_map):
            src = text[i]
            assert ch == src or ch == " " or ord(ch) == ord(src) - 0xFEE0, (ch, src)
    # protected units are never changed inside
    for s, e in protected_spans(text) if norm.protect else []:
        assert text[s:e] in out
    if not norm.t2s:
        assert "\x00" not in out or not norm.invisible
        assert norm(out) == out, "normalisation must be idempotent"


def _check_normalize_builtin(text: str) -> None:
    counted("normalize")
    out = normalize(text)
    assert not any(unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in out if c not in " ")
    assert normalize(out) == out


@prop(FAST, text_st, preset_st)
def test_normalizer_maps_into_original(text, preset):
    _check_normalizer(text, preset)


@prop(FAST, text_st)
def test_builtin_normalize_removes_invisible(text):
    _check_normalize_builtin(text)


@pytest.mark.slow
@prop(SLOW, text_st, preset_st)
def test_normalizer_maps_into_original_slow(text, preset):
    _check_normalizer(text, preset)


def test_normalizer_examples_and_bad_options():
    pytest.importorskip("opencc")
    t2s = Normalizer.from_config("t2s")
    text = "這家飯店\u200b服務很好！！！ 見 http://例子.com/臺灣 @張三 #臺灣#"
    out, index_map = t2s.with_offsets(text)
    assert out == "这家饭店服务很好!!! 见 http://例子.com/臺灣 @張三 #臺灣#"
    assert [text[i] for i in index_map][:4] == list("這家飯店")
    web = Normalizer.from_config("web")
    assert web("好！！！Ａ\u3000b。。。……") == "好!A b。……"
    assert Normalizer.from_config({"t2s": True}).to_config() == {
        "width": False, "invisible": False, "collapse_punct": False, "t2s": True, "protect": False,
        "t2s_auto": False}
    assert Normalizer.from_config("t2s").to_config() == "t2s"
    with pytest.raises(ValueError, match="normalize.*bogus"):
        Normalizer.from_config("bogus")
    with pytest.raises(ValueError, match="unknown keys"):
        Normalizer.from_config({"lower": True})
    with pytest.raises(TypeError, match="normalize"):
        Normalizer.from_config(3)
    with pytest.raises(TypeError, match="t2s"):
        Normalizer(t2s="yes")
    with pytest.raises(TypeError, match="text"):
        t2s.with_offsets(None)


# ---------------------------------------------------------------- tokenizers
def _check_offsets(tok, text: str, preset: str, kind: str) -> None:
    counted(f"tokenizer:{kind}")
    tok = with_normalizer(tok, preset)
    enc = tok(text, return_offsets_mapping=True)
    ids, offsets = enc["input_ids"], enc["offset_mapping"]
    assert len(ids) == len(offsets) and ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id
    assert all(0 <= i < tok.vocab_size for i in ids)
    for s, e in offsets[1:-1]:
        assert 0 <= s < e <= len(text), (s, e, len(text))
    starts = [s for s, _ in offsets[1:-1]]
    assert starts == sorted(starts)
    assert tok.encode(text) == ids
    if kind == "roots" and preset in ("none", "basic"):  # each piece is the normalised span it covers
        for i, (s, e) in zip(ids[1:-1], offsets[1:-1]):
            if tok.sp.is_byte(i) or tok.sp.is_unknown(i):
                continue
            assert tok.sp.id_to_piece(i).replace("\u2581", " ") == normalize(text[s:e]), (text[s:e], i)
    if kind.startswith("bert") and preset == "none":
        for i, (s, e) in zip(ids[1:-1], offsets[1:-1]):
            token = tok.convert_ids_to_tokens(i)
            span = "".join(c for c in text[s:e] if unicodedata.category(c)[0] != "C").lower()
            if token not in tok.all_special_tokens and span.isascii():
                assert token.removeprefix("##") == span, (token, text[s:e])


@prop(FAST, text_st, preset_st)
def test_roots_tokenizer_offsets(text, preset):
    _check_offsets(roots_tokenizer(), text, preset, "roots")


@prop(FAST, text_st, preset_st)
def test_bert_tokenizer_offsets(text, preset):
    _check_offsets(bert_tokenizer("fast"), text, preset, "bert-fast")


@prop(FAST, text_st)
def test_bert_engines_agree(text):
    counted("tokenizer:bert-parity")
    fast = bert_tokenizer("fast")(text, return_offsets_mapping=True)
    slow = bert_tokenizer("python")(text, return_offsets_mapping=True)
    assert fast["input_ids"] == slow["input_ids"]
    assert fast["offset_mapping"] == slow["offset_mapping"]


@pytest.mark.slow
@prop(SLOW, text_st, preset_st)
def test_tokenizers_slow(text, preset):
    _check_offsets(roots_tokenizer(), text, preset, "roots")
    _check_offsets(bert_tokenizer("fast"), text, preset, "bert-fast")
    _check_offsets(bert_tokenizer("python"), text, preset, "bert-python")


@prop(FAST, st.lists(text_st, max_size=8), st.sampled_from([None, 16]))
def test_tokenizer_batches(texts, max_length):
    counted("tokenizer:batch")
    tok = roots_tokenizer()
    enc = tok(texts, padding=True, truncation=max_length is not None, max_length=max_length,
              return_offsets_mapping=True, return_tensors="np")
    assert enc["input_ids"].shape[0] == len(texts)
    if texts and max_length:
        assert enc["input_ids"].shape[1] <= max_length
    for text, offs in zip(texts, enc["offset_mapping"]):
        assert all(0 <= s <= e <= len(text) for s, e in offs.tolist())


@pytest.mark.parametrize("make", [roots_tokenizer, lambda: bert_tokenizer("python")], ids=["roots", "bert"])
def test_tokenizers_wrong_types_and_huge_batch(make):
    tok = make()
    for bad in WRONG:
        with pytest.raises((TypeError, ValueError), match="text"):
            tok(bad)
    with pytest.raises(ValueError, match="normalize"):
        with_normalizer(tok, "bogus")
    with pytest.raises(TypeError, match="normalize"):
        with_normalizer(tok, 7)
    assert tok([])["input_ids"] == []
    batch = ["這家飯店很好" * (i % 7) + "\u200b" for i in range(5000)]
    enc = tok(batch, truncation=True, max_length=16, padding=True, return_tensors="np")
    assert enc["input_ids"].shape == (5000, 16)


def test_normalize_option_saves_and_maps_offsets(tmp_path):
    pytest.importorskip("opencc")
    from roots_zh.tokenization import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(ROOTS_DIR, normalize="t2s")
    text = "臺灣的飯店\u200b很好"
    enc = tok(text, return_offsets_mapping=True)
    simplified = AutoTokenizer.from_pretrained(ROOTS_DIR)("台湾的饭店很好")["input_ids"]
    assert enc["input_ids"] == simplified  # traditional + t2s == simplified ids
    covered = "".join(text[s:e] for s, e in enc["offset_mapping"][1:-1])
    assert covered == "臺灣的飯店很好"
    tok.save_pretrained(tmp_path)
    again = AutoTokenizer.from_pretrained(tmp_path)
    assert again.normalizer == Normalizer.from_config("t2s")
    assert AutoTokenizer.from_pretrained(tmp_path, normalize="none").normalizer is None
    assert again.tokenize("臺灣") == tok.tokenize("台湾")


# ---------------------------------------------------------------- segmentation
def _check_segment(text: str, mode: str) -> None:
    counted("segment")
    from roots_zh import segment
    from roots_zh.tokenization.segment import segment_with_offsets

    spans = segment_with_offsets(text, mode=mode)
    words = segment(text, mode=mode)
    assert [w for w, _, _ in spans] == words or mode == "all"
    for word, s, e in spans:
        assert text[s:e] == word and word and not word.isspace()
    if mode == "precise":  # words tile the text; only whitespace is left out
        pos = 0
        for _, s, e in spans:
            assert s >= pos and text[pos:s].isspace() or s == pos
            pos = e
        assert not text[pos:].strip()


@prop(FAST, text_st, st.sampled_from(["precise", "search", "all"]))
def test_segment_offsets(text, mode):
    pytest.importorskip("jieba")
    _check_segment(text, mode)


@pytest.mark.slow
@prop(SLOW, text_st, st.sampled_from(["precise", "search", "all"]))
def test_segment_offsets_slow(text, mode):
    pytest.importorskip("jieba")
    _check_segment(text, mode)


def test_segment_wrong_types():
    pytest.importorskip("jieba")
    from roots_zh import segment

    for bad in (None, 1, b"x", ["a"]):
        with pytest.raises((TypeError, ValueError), match="text"):
            segment(bad)
    with pytest.raises(ValueError, match="mode"):
        segment("你好", mode="fastest")


# ---------------------------------------------------------------- TextClassifier
def _check_predict(texts) -> None:
    counted("predict")
    clf = tiny_classifier()
    out = clf.predict(texts, return_all_scores=True)
    items = [out] if isinstance(texts, str) else out
    assert len(items) == (1 if isinstance(texts, str) else len(texts))
    for res in items:
        assert res["label"] in clf.labels and 0.0 <= res["score"] <= 1.0
        assert abs(sum(res["scores"].values()) - 1.0) < 1e-3


@pytest.fixture(scope="module")
def warm_classifier():
    """Builds the tiny classifier (paddle import, model init) outside hypothesis' deadline."""
    tiny_classifier().predict("warm up")


@prop(FAST, st.one_of(text_st, st.lists(text_st, max_size=6)))
def test_classifier_predict_any_text(warm_classifier, texts):
    _check_predict(texts)


@pytest.mark.slow
@prop(SLOW // 3, st.one_of(text_st, st.lists(text_st, max_size=12)))
def test_classifier_predict_any_text_slow(warm_classifier, texts):
    _check_predict(texts)


def test_classifier_wrong_types_empty_and_huge_batches():
    clf = tiny_classifier()
    for bad in WRONG:
        with pytest.raises((TypeError, ValueError), match="texts"):
            clf.predict(bad)
    with pytest.raises(ValueError, match="batch_size"):
        clf.predict(["x"], batch_size=0)
    assert clf.predict([]) == []
    batch = [("這家飯店很好" * (i % 9)) + chr(0x4E00 + i) for i in range(2000)]
    probs = clf.predict_proba(batch, batch_size=256)
    assert probs.shape == (2000, 3) and abs(probs.sum(1) - 1).max() < 1e-4
    huge = clf.predict("很好" * 50_000)  # 100k chars: truncated, not a crash
    assert huge["label"] in clf.labels


# ---------------------------------------------------------------- report
def test_zz_generated_case_count():
    """Reports how many generated cases ran in this session (read it in the warnings summary)."""
    total = sum(CASES.values())
    if not total:
        pytest.skip("no property test ran in this session")
    summary = ", ".join(f"{k}={v}" for k, v in sorted(CASES.items()))
    warnings.warn(f"hypothesis ran {total} generated cases ({summary})", UserWarning)
    assert total >= 10
