"""Decoding (greedy/beam, cache parity, no-repeat, length penalty), generation metrics and the
Summarizer/Translator pipelines on a tiny random model with the real roots-base tokenizer."""
import numpy as np
import pytest

paddle = pytest.importorskip("paddle")

from tests.conftest import REPO_ROOT, shared_data  # noqa: E402
from roots_zh.modeling import RootsConfig, RootsForPrefixLM  # noqa: E402
from roots_zh.generation.search import (GenerationConfig, beam_search, generate,  # noqa: E402
                                           greedy_search)
from roots_zh.metrics.generation import bleu, char_rouge, lcs_length, rouge_l_f  # noqa: E402
from roots_zh.pipelines.summarization import Summarizer  # noqa: E402
from roots_zh.pipelines.translation import Translator  # noqa: E402
from roots_zh.tokenization.auto import AutoTokenizer  # noqa: E402

TOK_DIR = REPO_ROOT / "pretrained" / "roots-base"


@pytest.fixture(scope="module")
def tokenizer():
    if not (TOK_DIR / "spm.model").is_file():
        pytest.skip("pretrained/roots-base tokenizer not present")
    return AutoTokenizer.from_pretrained(TOK_DIR)


def tiny_model(vocab_size, seed=0):
    paddle.seed(seed)
    cfg = RootsConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=64, max_position_embeddings=128)
    model = RootsForPrefixLM(cfg)
    model.eval()
    return model


@pytest.fixture(scope="module")
def model(tokenizer):
    return tiny_model(len(tokenizer))


@pytest.fixture(scope="module")
def sources(tokenizer):
    texts = ["今天天气很好，我们去公园散步。", "北京", "机器翻译是自然语言处理的重要任务之一。", "Hello world!"]
    return tokenizer(texts)["input_ids"]  # different lengths: exercises left padding


# ------------------------------------------------------------------------------ decoding
def test_beam_of_one_equals_greedy_and_cache_equals_reencoding(model, tokenizer, sources):
    eos, pad = tokenizer.sep_token_id, tokenizer.pad_token_id
    cfg = GenerationConfig(max_new_tokens=12)
    greedy = generate(model, sources, eos, pad, cfg)
    assert all(len(row) == 12 for row in greedy)  # random model: no eos, full length
    assert generate(model, sources, eos, pad, cfg, use_cache=False) == greedy
    from roots_zh.generation.decoders import PrefixLMDecoder

    with paddle.no_grad():
        beam1 = beam_search(PrefixLMDecoder(model, pad), sources, eos, GenerationConfig(max_new_tokens=12))
    assert beam1 == greedy
    # batched decoding equals one-by-one decoding (left padding + positions are right)
    assert [generate(model, [s], eos, pad, cfg)[0] for s in sources] == greedy
    # beam search with the cache (reordered along the batch axis) equals beam search without it
    bcfg = GenerationConfig(max_new_tokens=10, num_beams=3)
    assert generate(model, sources, eos, pad, bcfg) == generate(model, sources, eos, pad, bcfg, use_cache=False)


def test_cached_logprobs_match_full_forward(model, tokenizer, sources):
    from roots_zh.generation.decoders import PrefixLMDecoder

    with paddle.no_grad():
        cached, full = PrefixLMDecoder(model, 0), PrefixLMDecoder(model, 0, use_cache=False)
        a, b = cached.start(sources), full.start(sources)
        for token in (5, 77, 1234):
            tok = np.full(len(sources), token)
            a, b = cached.step(tok), full.step(tok)
        np.testing.assert_allclose(a, b, atol=1e-4)
        # and the same numbers come from the model's own forward on the un-padded sequence
        ids = sources[1] + [5, 77, 1234]
        types = [0] * len(sources[1]) + [1, 1, 1]
        out = model(paddle.to_tensor([ids]), paddle.to_tensor([types]))
        ref = paddle.nn.functional.log_softmax(out.logits[0, -1], -1).numpy()
        np.testing.assert_allclose(a[1], ref, atol=1e-4)
        # one source: no padding, so the cached steps run without any attention mask
        one_cached, one_full = PrefixLMDecoder(model, 0), PrefixLMDecoder(model, 0, use_cache=False)
        a, b = one_cached.start(sources[1:2]), one_full.start(sources[1:2])
        assert not one_cached.padded
        for token in (5, 77):
            a, b = one_cached.step(np.array([token])), one_full.step(np.array([token]))
        np.testing.assert_allclose(a, b, atol=1e-4)


def _repeats(row, n):
    grams = [tuple(row[i:i + n]) for i in range(len(row) - n + 1)]
    return len(grams) - len(set(grams))


def test_no_repeat_ngram_forbids_repeats(tokenizer, sources):
    eos, pad = tokenizer.sep_token_id, tokenizer.pad_token_id
    model = tiny_model(len(tokenizer), seed=2)
    bias = model.lm_head.decoder_bias.numpy()
    bias[[100, 200]] += 8.0  # a model that loves two tokens, so it repeats
    model.lm_head.decoder_bias.set_value(bias)
    plain = generate(model, sources, eos, pad, GenerationConfig(max_new_tokens=20))
    assert sum(_repeats(r, 2) for r in plain) > 0  # the random model does repeat, so the test can fail
    for beams in (1, 3):
        for n in (1, 2, 3):
            rows = generate(model, sources, eos, pad,
                            GenerationConfig(max_new_tokens=20, num_beams=beams, no_repeat_ngram_size=n))
            assert all(_repeats(r, n) == 0 for r in rows), (beams, n, rows)
            assert not any(r[i] == r[i + 1] == r[i + 2] for r in rows for i in range(len(r) - 2)), rows
    one_token = tiny_model(len(tokenizer), seed=2)  # a model that wants one token forever
    bias = one_token.lm_head.decoder_bias.numpy()
    bias[100] += 20.0
    one_token.lm_head.decoder_bias.set_value(bias)
    rows = generate(one_token, sources, eos, pad, GenerationConfig(max_new_tokens=12, no_repeat_ngram_size=3))
    assert all(r[:2] == [100, 100] and r[2] != 100 for r in rows), rows  # "x x" never becomes "x x x"


class TableDecoder:
    """A hand-made 'model': log-probs depend only on the last generated token (vocab of 6)."""

    EOS, A, B, C = 0, 1, 2, 3

    def __init__(self, table):
        self.table = table  # last token (or None at start) -> {token: prob}

    def _row(self, last):
        logp = np.full(6, -50.0)
        for tok, p in self.table[last].items():
            logp[tok] = np.log(p)
        return logp

    def start(self, sources, repeat=1):
        self.last = [None] * (len(sources) * repeat)
        return np.stack([self._row(x) for x in self.last])

    def step(self, tokens):
        self.last = [int(t) for t in tokens]
        return np.stack([self._row(x) for x in self.last])

    def reorder(self, rows):
        self.last = [self.last[r] for r in rows]


def test_length_penalty_changes_the_choice():
    # short: [eos] right away, p=0.4 -> log 0.4 = -0.92 over length 1
    # long: A B C eos, p = 0.6 * 0.5 * 0.5 * 0.9 = 0.135 -> -2.0 over length 4
    # (tokens 4 and 5 are dead ends: every continuation has log-prob -50)
    table = {None: {0: 0.4, 1: 0.6}, 1: {2: 0.5, 4: 0.5}, 2: {3: 0.5, 5: 0.5}, 3: {0: 0.9, 4: 0.1},
             4: {}, 5: {}}
    src = [[7]]
    no_penalty = beam_search(TableDecoder(table), src, 0, GenerationConfig(num_beams=2, length_penalty=0.0,
                                                                           early_stopping=False, max_new_tokens=8))
    normalised = beam_search(TableDecoder(table), src, 0, GenerationConfig(num_beams=2, length_penalty=1.0,
                                                                           early_stopping=False, max_new_tokens=8))
    assert no_penalty == [[]]  # highest total log-prob: stop at once
    assert normalised == [[1, 2, 3]]  # -2.0 / 4 = -0.5 beats -0.92 / 1
    # greedy takes A at step 0 (0.6 > 0.4) and follows the table
    assert greedy_search(TableDecoder(table), src, 0, GenerationConfig()) == [[1, 2, 3]]
    # min_length forbids the early eos even without a length penalty
    forced = beam_search(TableDecoder(table), src, 0, GenerationConfig(num_beams=2, length_penalty=0.0,
                                                                       min_length=1))
    assert forced[0] and forced[0][0] == 1


def test_generation_config_and_input_checks(model, tokenizer):
    for bad in (dict(num_beams=0), dict(max_new_tokens=-1), dict(no_repeat_ngram_size=-2),
                dict(length_penalty="x"), dict(min_length=1.5)):
        with pytest.raises(ValueError, match=next(iter(bad))):
            GenerationConfig(**bad).validate()
    with pytest.raises(ValueError, match="sources"):
        generate(model, [[2, 3], []], 3, 0)
    with pytest.raises(ValueError, match="max_position_embeddings"):
        generate(model, [[2] * 100], 3, 0, GenerationConfig(max_new_tokens=40))
    assert generate(model, [], 3, 0) == []


# ------------------------------------------------------------------------------ metrics
def test_char_rouge_hand_case_and_reference_library():
    # hyp 我爱北京天安门 (7), ref 我爱上海 (4): LCS 我爱 = 2 -> P 2/7, R 2/4, F = 2PR/(P+R) = 4/11
    assert lcs_length(list("ABCBDAB"), list("BDCABA")) == 4
    assert rouge_l_f("我爱北京天安门", "我爱上海") == pytest.approx(4 / 11)
    assert rouge_l_f("", "我") == 0.0 and rouge_l_f("我 爱", "我爱") == 1.0
    scores = char_rouge(["我爱北京天安门", "今天天气好"], ["我爱上海", "今天天气好"])
    assert scores["rougeL"] == pytest.approx(100 * (4 / 11 + 1) / 2, abs=1e-3)
    rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer")

    class CharTokenizer:
        def tokenize(self, text):
            return [c for c in text if not c.isspace()]

    ref_scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], tokenizer=CharTokenizer())
    rng = np.random.default_rng(0)
    alphabet = list("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动")
    hyps = ["".join(rng.choice(alphabet, rng.integers(1, 30))) for _ in range(50)]
    refs = ["".join(rng.choice(alphabet, rng.integers(1, 30))) for _ in range(50)]
    ours = char_rouge(hyps, refs)
    theirs = {k: 100 * np.mean([ref_scorer.score(r, h)[k].fmeasure for h, r in zip(hyps, refs)])
              for k in ("rouge1", "rouge2", "rougeL")}
    for k in theirs:
        assert ours[k] == pytest.approx(theirs[k], abs=1e-3), k


def test_bleu_tokenizers():
    pytest.importorskip("sacrebleu")
    assert bleu(["the cat sat on the mat"], ["the cat sat on the mat"])["bleu"] == pytest.approx(100.0)
    zh_char = bleu(["我喜欢吃苹果和香蕉"], ["我喜欢吃苹果和梨子"], tokenize="zh")["bleu"]
    zh_none = bleu(["我喜欢吃苹果和香蕉"], ["我喜欢吃苹果和梨子"], tokenize="13a")["bleu"]
    assert zh_char > 40 and zh_none == 0.0  # without zh tokenisation a Chinese sentence is one word
    with pytest.raises(ValueError, match="references"):
        bleu(["a"], ["a", "b"])
    with pytest.raises(TypeError, match=r"hypotheses\[0\]"):
        bleu([None], ["a"])


# ------------------------------------------------------------------------------ pipelines
def test_pipelines_survive_bad_inputs(model, tokenizer, caplog):
    summ = Summarizer(model, tokenizer, max_source_length=48, max_target_length=8)
    out = summ.predict("今天天气很好")
    assert set(out) == {"text", "summary", "truncated"} and isinstance(out["summary"], str)
    assert summ.predict([]) == []
    for text in ["", "   ", "😀👍", "a\ud800b", "\x00\u200b", "這家酒店服務很好"]:
        res = summ.predict(text, max_new_tokens=3)
        assert isinstance(res["summary"], str) and res["truncated"] is False
    with caplog.at_level("WARNING"):
        long = summ.predict("好" * 200_000, max_new_tokens=3)
    assert long["truncated"] is True and "truncated" in caplog.text
    with pytest.raises(ValueError, match="texts"):
        summ.predict(None)
    with pytest.raises(TypeError, match="texts"):
        summ.predict(42)
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        summ.predict(["好", 3])
    with pytest.raises(ValueError, match="batch_size"):
        summ.predict(["好"], batch_size=0)
    with pytest.raises(TypeError, match="unknown generation options"):
        summ.predict("好", beams=3)
    with pytest.raises(ValueError, match="targets"):
        summ.fit(["好", "差"], ["好"])
    with pytest.raises(ValueError, match=r"targets\[0\]"):
        summ.fit(["好"], ["  "])
    with pytest.raises(ValueError, match="direction"):
        Translator(model, tokenizer, direction="fr-en")
    with pytest.raises(ValueError, match="max_position_embeddings"):
        Translator(model, tokenizer, max_source_length=100, max_target_length=100)
    big = summ.predict(["北京"] * 10_000, batch_size=2_000, max_new_tokens=1)
    assert len(big) == 10_000 and len({r["summary"] for r in big}) == 1


def test_summarizer_fit_lowers_loss_and_roundtrips(tokenizer, tmp_path):
    from roots_zh.data.seq2seq import load_seq2seq_set

    pairs, report = load_seq2seq_set(shared_data(), "lcsts", "train")
    assert report.read == 8666 and report.skipped == 0
    train = pairs[:96]
    src, tgt = [p.source for p in train], [p.target for p in train]
    summ = Summarizer(tiny_model(len(tokenizer), seed=1), tokenizer, max_source_length=64, max_target_length=24)
    before = summ.loss(src, tgt)
    summ.fit(src, tgt, epochs=5, batch_size=16, learning_rate=5e-3, warmup_ratio=0.0)
    after = summ.loss(src, tgt)
    assert after < before - 1.0, (before, after)
    summ.save_pretrained(tmp_path)
    again = Summarizer.from_pretrained(tmp_path)
    assert again.max_source_length == 64 and again.max_target_length == 24
    assert again.loss(src[:8], tgt[:8]) == pytest.approx(summ.loss(src[:8], tgt[:8]), abs=1e-4)
    assert again.predict(src[:4], max_new_tokens=6) == summ.predict(src[:4], max_new_tokens=6)
    scores = summ.evaluate(src[:8], tgt[:8], max_new_tokens=6)
    assert 0 <= scores["rougeL"] <= 100 and scores["n"] == 8


def test_translator_roundtrip_keeps_direction(model, tokenizer, tmp_path):
    pytest.importorskip("sacrebleu")
    tr = Translator(model, tokenizer, direction="en-zh", max_source_length=32, max_target_length=16,
                    generation=GenerationConfig(max_new_tokens=16, num_beams=2))
    tr.save_pretrained(tmp_path)
    again = Translator.from_pretrained(tmp_path)
    assert again.direction == "en-zh" and again.generation.num_beams == 2
    out = again.predict(["I know.", "Hello!"])
    assert [set(r) for r in out] == [{"text", "translation", "truncated"}] * 2
    assert "bleu" in again.evaluate(["I know."], ["我知道。"])
    (tmp_path / "seq2seq_config.json").write_text("{not json")
    with pytest.raises(ValueError, match="seq2seq_config.json"):
        Translator.from_pretrained(tmp_path)


def test_exported_decoder_matches_dygraph_greedy_and_beam(tmp_path):
    """Summarizer on Paddle Inference (exported prefill + cached step) decodes the same tokens as
    dygraph, for greedy and for beam search with no-repeat-n-gram."""
    from roots_zh.hub import load_registry
    from roots_zh.pipelines.summarization import Summarizer

    if "roots-base" not in load_registry():
        pytest.skip("roots-base not shipped")
    pipe = Summarizer.from_pretrained("roots-base", max_source_length=32, max_target_length=8)
    out_dir = pipe.export(tmp_path / "summ")
    fast = Summarizer.from_pretrained(out_dir, backend="inference")
    texts = ["今天，国家统计局发布了最新数据，全国居民消费价格同比上涨。", "短文本", "北京大学位于海淀区"]
    for options in ({"num_beams": 1}, {"num_beams": 3, "no_repeat_ngram_size": 2}):
        assert fast.generate_texts(texts, **options)[0] == pipe.generate_texts(texts, **options)[0]
    with pytest.raises(ValueError, match="dygraph"):
        fast.fit(["a"], ["b"])
