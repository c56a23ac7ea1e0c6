"""The recipe runner: fine-tune a pipeline from a task recipe (``tasks/<task>/recipe.json``), evaluate
it and save ``result.json`` and ``final/`` under ``out``. ``tools/finetune.py`` is its command line.

A recipe's kind is its ``"kind"`` (``classification``, ``similarity``, ``ner``, ``qa``, ``summarization``,
``translation``). ``TRAINING_KEYS`` are the recipe keys passed to every pipeline's ``fit``.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Callable, Dict, Optional

TASKS_DIR = Path(os.environ.get("ROOTS_TASKS_DIR") or Path(__file__).resolve().parents[1] / "tasks")
INITS = ("pretrained", "random", "paddlenlp")
# recipe keys that are Trainer settings, for every kind of recipe
TRAINING_KEYS = ("epochs", "batch_size", "learning_rate", "warmup_ratio", "weight_decay", "eval_every",
                 "early_stopping_patience", "seed", "max_steps")
CLASSIFICATION_KEYS = ("class_weights", "threshold")
GENERATION_KEYS = ("num_beams", "length_penalty", "no_repeat_ngram_size", "min_length")
# generation recipes that are not tasks/<task>/recipe.json
RECIPE_FILES = {"tatoeba_zh_en": Path("translation") / "tatoeba_zh_en.json",
                "tatoeba_en_zh": Path("translation") / "tatoeba_en_zh.json",
                "translation_bidirectional": Path("translation") / "bidirectional.json",
                "segmentation_multi": Path("segmentation") / "multi_criteria.json",
                "segmentation_student": Path("segmentation") / "student.json",
                "tnews_distill": Path("tnews") / "distill.json",
                "tnews_distill_tfidf": Path("tnews") / "distill_tfidf.json",
                "tnews_lexical": Path("tnews") / "lexical.json",
                "sentiment_general_lexical": Path("sentiment_general") / "lexical.json",
                "similarity_cosent": Path("similarity") / "cosent.json"}


def recipe_path(task: str, tasks_dir: Optional[Path] = None) -> Path:
    tasks_dir = Path(tasks_dir or TASKS_DIR)
    return tasks_dir / RECIPE_FILES.get(task, Path(task) / "recipe.json")


def load_recipe(task: str, tasks_dir: Optional[Path] = None) -> dict:
    path = recipe_path(task, tasks_dir)
    if not path.is_file():
        raise FileNotFoundError(f"no recipe {path}; tasks: {sorted(p.name for p in path.parents[1].iterdir())}")
    return json.loads(path.read_text(encoding="utf-8"))


RECIPE_KINDS = ("classification", "similarity", "ner", "qa", "summarization", "translation")


def recipe_kind(recipe: dict) -> str:
    """The recipe's ``"kind"``: one of ``RECIPE_KINDS``."""
    kind = recipe.get("kind")
    if kind not in RECIPE_KINDS:
        raise ValueError(f"recipe field `kind`={kind!r} is not valid; choose one of {list(RECIPE_KINDS)}")
    return kind


def training_args(recipe: dict, keys=TRAINING_KEYS) -> Dict[str, object]:
    """The recipe's Trainer settings (and ``adapter`` when it names one)."""
    args = {k: recipe[k] for k in keys if k in recipe}
    if recipe.get("adapter"):
        args["adapter"] = recipe["adapter"]  # ship a small adapter over the base model
    return args


def _random_init(pipe, seed: int) -> None:
    from .training.trainer import seed_everything

    seed_everything(seed)
    model = type(pipe.model)(pipe.model.config)
    if hasattr(pipe, "replace_model"):  # pipelines whose backend wraps the model must follow the swap
        pipe.replace_model(model)
    else:
        pipe.model = model


def run_recipe(task: str, model: str, init: str, out: Path, data_root: Path, overrides: Optional[dict] = None,
               limit: Optional[int] = None, eval_limit: Optional[int] = None,
               baseline_model: Optional[Callable] = None, tasks_dir: Optional[Path] = None) -> dict:
    """Run ``task``'s recipe (with ``overrides``) by its kind; see the module docstring."""
    if init not in INITS:
        raise ValueError(f"`init`={init!r} is not one of {INITS}")
    recipe = {**load_recipe(task, tasks_dir), **(overrides or {})}
    kind = recipe_kind(recipe)
    if init == "paddlenlp" and (kind != "classification" or baseline_model is None):
        raise ValueError(f"--init paddlenlp applies to classification recipes only, not {task!r}")
    if kind in ("summarization", "translation"):
        return run_seq2seq(task, model, init, out, data_root, recipe, limit)
    if kind in ("ner", "qa"):
        return run_spans(task, model, init, out, data_root, recipe, limit)
    if kind == "similarity":
        return run_similarity(task, model, init, out, data_root, recipe, limit, eval_limit)
    return run_classification(task, model, init, out, data_root, recipe, limit, eval_limit, baseline_model)


def recipe_labels(recipe: dict, data_root: Path) -> list:
    if "labels" in recipe:
        return recipe["labels"]
    rows = [json.loads(line) for line in open(data_root / recipe["dataset"] / recipe["labels_file"], encoding="utf-8")]
    return [row["label_desc"] for row in rows]


def run_classification(task: str, model: str, init: str, out: Path, data_root: Path, recipe: dict,
                       limit: Optional[int] = None, eval_limit: Optional[int] = None,
                       baseline_model: Optional[Callable] = None) -> dict:
    """Fine-tune a ``TextClassifier``; ``init="paddlenlp"`` trains ``baseline_model(config)`` instead."""
    from .data.readers import evenly_spaced, load_classification_set
    from .pipelines.text_classification import TextClassifier
    from .training.trainer import seed_everything

    names = recipe.get("label_names") or {}  # dataset label -> shipped label name (e.g. "1" -> "正面")
    labels = [names.get(label, label) for label in recipe_labels(recipe, data_root)]
    clf = TextClassifier.from_pretrained(model, labels=labels, max_length=recipe["max_length"],
                                         pooling=recipe.get("pooling"))
    if init == "random":
        _random_init(clf, recipe["seed"])
    elif init == "paddlenlp":
        seed_everything(recipe["seed"])
        clf.model = baseline_model(clf.model.config)
    data = {}
    for split in ("train", "eval", "test"):
        name = recipe.get(f"{split}_split")
        if name:
            examples, _ = load_classification_set(data_root, recipe["dataset"], name)
            data[split] = examples[:limit] if limit and split == "train" else examples
            if eval_limit and split != "train":  # smoke runs: evenly spaced, so both labels stay in
                data[split] = evenly_spaced(data[split], eval_limit)
    cols = lambda ex: ([e.text for e in ex], [names.get(e.label, e.label) for e in ex],  # noqa: E731
                       [e.text_pair for e in ex] if ex and ex[0].text_pair is not None else None)
    tr_x, tr_y, tr_p = cols(data["train"])
    ev_x, ev_y, ev_p = cols(data["eval"])
    start = time.time()
    settings = training_args(recipe, TRAINING_KEYS + CLASSIFICATION_KEYS)
    if recipe.get("distill"):
        summary = _distill(clf, recipe["distill"], data_root, tr_x, tr_y, tr_p, ev_x, ev_y, ev_p, str(out), settings)
    elif recipe.get("epochs") == 0:  # keep the loaded encoder (e.g. to add a lexical leg to a trained model)
        summary = {"best": clf.evaluate(ev_x, ev_y, ev_p)}
    else:
        summary = clf.fit(tr_x, tr_y, tr_p, ev_x, ev_y, ev_p, output_dir=str(out), **settings)
    extra = {}
    if recipe.get("lexical") is not None:  # the lexical leg, after the encoder; "dev" then scores both
        extra = {"dev_encoder": summary["best"], "lexical": _fit_lexical(clf, recipe["lexical"], tr_x, tr_y, tr_p)}
        summary["best"] = clf.evaluate(ev_x, ev_y, ev_p)
    result = {"task": task, "model": model, "init": init, "dev": summary["best"],
              "train_seconds": round(time.time() - start, 1), "recipe": recipe, **extra}
    if "distillation" in summary:
        result["distillation"] = summary["distillation"]
    if "test" in data:
        te_x, te_y, te_p = cols(data["test"])
        result["test"] = clf.evaluate(te_x, te_y, te_p)
    out.mkdir(parents=True, exist_ok=True)
    (out / "result.json").write_text(json.dumps(result, ensure_ascii=False, indent=2))
    clf.save_pretrained(out / "final")
    return result


def _fit_lexical(clf, spec: dict, tr_x, tr_y, tr_p) -> dict:
    """A recipe's ``"lexical"`` ``{"weight", "max_features", "c"}`` (all optional): the classifier's
    lexical leg (``TextClassifier.fit_lexical``), trained on the training texts after the encoder."""
    if not isinstance(spec, dict) or set(spec) - {"weight", "max_features", "c"}:
        raise ValueError(f"recipe field `lexical` must be an object with keys from weight/max_features/c, got {spec!r}")
    return clf.fit_lexical(tr_x, tr_y, tr_p, **spec)


def _distill(clf, spec: dict, data_root: Path, tr_x, tr_y, tr_p, ev_x, ev_y, ev_p, out: str, settings: dict) -> dict:
    """A recipe's ``"distill"``: ``teachers`` (model directories or names, run on Paddle Inference),
    ``temperature``, ``alpha``, optional ``unlabeled`` text ``{"dataset", "split", "field", "limit"}``
    from a seq2seq set (e.g. the mined news ``headlines``' titles: ``"field": "target"``) and optional
    ``tfidf_teacher`` ``{"folds": K}``: one more teacher, the TF-IDF + logistic-regression classifier
    (out-of-fold on the training texts, fitted on all of them for the unlabelled ones)."""
    import numpy as np

    from .data.readers import evenly_spaced
    from .data.seq2seq import load_seq2seq_set
    from .pipelines.text_classification import TextClassifier
    from .training.tfidf_teacher import cross_fitted_probs

    unknown = sorted(set(spec) - {"teachers", "temperature", "alpha", "unlabeled", "tfidf_teacher"})
    if unknown or not (spec.get("teachers") or spec.get("tfidf_teacher")):
        raise ValueError(f"recipe field `distill` needs `teachers` (or `tfidf_teacher`) and takes temperature/"
                         f"alpha/unlabeled/tfidf_teacher; got {sorted(spec)}")
    teachers = [TextClassifier.from_pretrained(t, backend="inference") for t in spec.get("teachers", [])]
    texts, labels = list(tr_x), list(tr_y)
    more: list = []
    extra = spec.get("unlabeled")
    if extra:
        if tr_p is not None:
            raise ValueError("recipe field `distill.unlabeled` applies to single-text tasks, not text pairs")
        pairs, _ = load_seq2seq_set(data_root, extra["dataset"], extra.get("split", "train"))
        more = evenly_spaced([getattr(p, extra.get("field", "target")) for p in pairs], extra.get("limit"))
        texts, labels = texts + more, labels + [None] * len(more)
    lexical = spec.get("tfidf_teacher")
    if lexical:
        folds = lexical.get("folds", 5) if isinstance(lexical, dict) else 5
        teachers.append(np.concatenate(cross_fitted_probs(tr_x, tr_y, clf.labels, folds, pairs=tr_p,
                                                          unlabelled=more)))
    return clf.distill(texts, teachers, labels, tr_p, ev_x, ev_y, ev_p, temperature=spec.get("temperature", 2.0),
                       alpha=spec.get("alpha", 0.5), output_dir=out, **settings)


def run_similarity(task: str, model: str, init: str, out: Path, data_root: Path, recipe: dict,
                   limit: Optional[int] = None, eval_limit: Optional[int] = None) -> dict:
    """Contrastive training of a ``TextSimilarity``. Paraphrase pairs: the pairs of each set in
    ``"positives"`` (``{set: its paraphrase label}``); SimCSE views: every distinct sentence of the sets in
    ``"unsupervised"``, paired with itself. Or, with ``"labelled"`` (``{set: {its label: 0 or 1}}``, other
    labels dropped), every labelled pair with the CoSENT loss. ``"threshold_holdout"`` labelled training pairs of
    ``"dataset"`` are kept out of training and tune the similarity threshold (``"threshold_metric"``);
    the ``"eval_split"`` of ``"dataset"`` picks the weights (AUC) and is reported."""
    import random

    from .data.readers import evenly_spaced, load_classification_set
    from .pipelines.text_similarity import TextSimilarity

    sim = TextSimilarity.from_pretrained(model, max_length=recipe["max_length"])
    if init == "random":
        _random_init(sim, recipe["seed"])
    name = recipe["dataset"]
    train, held = holdout_split(load_classification_set(data_root, name, recipe["train_split"])[0],
                                recipe["threshold_holdout"], recipe["seed"])
    examples = lambda s: train if s == name else load_classification_set(data_root, s, "train")[0]  # noqa: E731
    labelled = recipe.get("labelled")
    if labelled:
        pairs = [(e.text, e.text_pair, labelled[s][e.label]) for s in labelled for e in examples(s)
                 if e.label in labelled[s]]
        singles = []
    else:
        pairs = [(e.text, e.text_pair, None) for s, label in recipe["positives"].items()
                 for e in examples(s) if e.label == label]
        seen = {t for pair in pairs for t in pair[:2]}
        singles = [t for s in recipe.get("unsupervised", []) for e in examples(s) for t in (e.text, e.text_pair)
                   if t and not (t in seen or seen.add(t))]
    rows = pairs + [(t, None, None) for t in singles]
    random.Random(recipe["seed"]).shuffle(rows)
    rows = rows[:limit] if limit else rows
    dev = load_classification_set(data_root, name, recipe["eval_split"])[0]
    dev = evenly_spaced(dev, eval_limit) if eval_limit else dev
    cols = lambda ex: ([e.text for e in ex], [e.text_pair for e in ex], [e.label for e in ex])  # noqa: E731
    start = time.time()
    summary = sim.fit([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows] if labelled else None,
                      *cols(dev), temperature=recipe.get("temperature", 0.05), **training_args(recipe))
    threshold = sim.tune_threshold(*cols(held), metric=recipe.get("threshold_metric", "macro_f1"))
    result = {"task": task, "model": model, "init": init, "dev": sim.evaluate(*cols(dev)),
              "threshold_pairs": sim.evaluate(*cols(held)), "threshold": threshold,
              "train_rows": {"pairs": len(pairs), "single_texts": len(singles), "used": len(rows)},
              "best_auc": summary.get("best"), "train_seconds": round(time.time() - start, 1), "recipe": recipe}
    out.mkdir(parents=True, exist_ok=True)
    (out / "result.json").write_text(json.dumps(result, ensure_ascii=False, indent=2))
    sim.save_pretrained(out / "final")
    return result


def holdout_split(examples: list, n: int, seed: int) -> tuple:
    """``(train, dev)``: a seeded random ``n`` examples become the dev set."""
    import random

    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    dev_ids = set(order[:n])
    return ([e for i, e in enumerate(examples) if i not in dev_ids], [examples[i] for i in sorted(dev_ids)])


def run_spans(task: str, model: str, init: str, out: Path, data_root: Path, recipe: dict,
              limit: Optional[int] = None) -> dict:
    """Fine-tune, evaluate on the recipe's eval split, save ``result.json`` and ``final/`` under ``out``."""
    from .utils.files import atomic_write_text

    out = Path(out)
    limit = limit or recipe.get("train_limit")
    args = training_args(recipe)
    start = time.time()
    if recipe_kind(recipe) == "ner":
        from .data.ner_qa import load_ner_set
        from .data.readers import evenly_spaced
        from .pipelines.token_classification import TokenClassifier

        pipe = TokenClassifier.from_pretrained(model, labels=recipe["labels"], scheme=recipe.get("scheme", "BIO"),
                                               max_length=recipe["max_length"], stride=recipe.get("stride", 32),
                                               tokenize_chinese_chars=recipe.get("tokenize_chinese_chars"),
                                               crf=bool(recipe.get("crf")))
        if init == "random":
            _random_init(pipe, recipe["seed"])
        if recipe.get("shrink"):  # a smaller student started from the loaded model (modeling/shrink.py)
            from .modeling.shrink import shrink_model
            from .training.trainer import seed_everything

            seed_everything(recipe["seed"])
            pipe.replace_model(shrink_model(pipe.model, **recipe["shrink"]))
        criteria = None
        if recipe.get("criteria"):  # multi-criteria: {standard: split}; the first is the one evaluated
            pipe.set_criteria(list(recipe["criteria"]))
            train, criteria = [], []
            for name, split in recipe["criteria"].items():
                part, _ = load_ner_set(data_root, recipe["dataset"], split)
                train += part
                criteria += [name] * len(part)
        else:
            train, _ = load_ner_set(data_root, recipe["dataset"], recipe["train_split"])
        if recipe.get("holdout"):  # no dev file: a seeded slice of train is the dev set
            train, dev = holdout_split(train, recipe["holdout"], recipe["seed"])
        else:
            dev, _ = load_ner_set(data_root, recipe["dataset"], recipe["eval_split"])
        if limit and criteria is not None:  # an evenly spaced slice keeps every criterion in
            picked = evenly_spaced(range(len(train)), limit)
            train, criteria = [train[i] for i in picked], [criteria[i] for i in picked]
        elif limit:
            train = train[:limit]
        dev_x, dev_y = [e.text for e in dev], [e.entities for e in dev]
        alignment = pipe.alignment_report(dev_x, dev_y)
        summary = pipe.fit([e.text for e in train], [e.entities for e in train], dev_x, dev_y,
                           criteria=criteria, output_dir=str(out), **args)
        extra = {"dev_alignment": alignment}
        if recipe.get("test_split"):
            test, _ = load_ner_set(data_root, recipe["dataset"], recipe["test_split"])
            test_x, test_y = [e.text for e in test], [e.entities for e in test]
            extra["test"] = pipe.evaluate(test_x, test_y)
            extra["test_alignment"] = pipe.alignment_report(test_x, test_y)
    else:
        from .data.ner_qa import load_qa_set
        from .pipelines.question_answering import QuestionAnswerer

        pipe = QuestionAnswerer.from_pretrained(model, max_length=recipe["max_length"],
                                                doc_stride=recipe["doc_stride"],
                                                max_query_length=recipe["max_query_length"],
                                                max_answer_length=recipe["max_answer_length"],
                                                tokenize_chinese_chars=recipe.get("tokenize_chinese_chars"))
        if init == "random":
            _random_init(pipe, recipe["seed"])
        train, _ = load_qa_set(data_root, recipe["dataset"], recipe["train_split"])
        dev, _ = load_qa_set(data_root, recipe["dataset"], recipe["eval_split"])
        train = train[:limit] if limit else train
        dev = dev[:recipe["eval_limit"]] if recipe.get("eval_limit") else dev
        dev_cols = ([e.question for e in dev], [e.context for e in dev], [e.answers for e in dev])
        summary = pipe.fit([e.question for e in train], [e.context for e in train], [e.answers[0] for e in train],
                           [e.answer_starts[0] for e in train], *dev_cols, output_dir=str(out),
                           negative_windows=recipe.get("negative_windows", 1.0), **args)
        extra = {}
    result = {"task": task, "model": model, "init": init, "n_train": len(train), "n_dev": len(dev),
              "dev": summary["best"],  # the kept (best) weights; training ends on them
              "train_seconds": round(time.time() - start, 1), "recipe": recipe, **extra}
    atomic_write_text(out / "result.json", json.dumps(result, ensure_ascii=False, indent=2))
    pipe.save_pretrained(out / "final")
    return result


def _baseline(pipeline, recipe: dict, train, pairs) -> Dict[str, float]:
    from .metrics.generation import char_rouge

    refs = [p.target for p in pairs]
    if recipe_kind(recipe) == "summarization":
        n = round(sum(len(p.target) for p in train) / len(train))
        return {"name": f"lead-{n} chars", **char_rouge([p.source[:n] for p in pairs], refs)}
    return {"name": "copy source", **pipeline._score([p.source for p in pairs], refs)}


def run_seq2seq(task: str, model: str, init: str, out: Path, data_root: Path, recipe: dict,
                limit: Optional[int] = None) -> dict:
    """Fine-tune a summarizer or translator; score the model and a trivial baseline on the test sets.
    A translation recipe with ``"directions"`` (e.g. ``["zh-en", "en-zh"]``) trains one model on the pairs
    of every direction (the source's language tells the model which way to go); the first direction is
    the one evaluated on dev and the pipeline's default, and every test set is scored in each direction
    (``"<set>/<split>"`` for the first, ``"<set>/<split> <direction>"`` for the others)."""
    from .data.seq2seq import load_seq2seq_set
    from .pipelines.summarization import Summarizer
    from .pipelines.translation import Translator
    from .utils.files import atomic_write_text

    directions = recipe.get("directions") or [recipe.get("direction", "zh-en")]
    direction = directions[0]
    cls = Summarizer if recipe_kind(recipe) == "summarization" else Translator
    kwargs = {"max_source_length": recipe["max_source_length"], "max_target_length": recipe["max_target_length"]}
    if cls is Translator:
        kwargs["direction"] = direction
    pipe = cls.from_pretrained(model, **kwargs)
    if init == "random":
        _random_init(pipe, recipe["seed"])

    def load(dataset: str, split: str, way: str = direction):
        pairs, report = load_seq2seq_set(data_root, dataset, split, direction=way)
        return pairs, {"read": report.read, "skipped": report.skipped}

    def key(dataset: str, split: str, way: str) -> str:  # a result key; other directions are suffixed
        return f"{dataset}/{split}" + (f" {way}" if way != direction else "")

    train, train_report = [], {}
    for way in directions:
        for dataset, split in recipe.get("train_sets") or [(recipe["dataset"], recipe["train_split"])]:
            pairs, report = load(dataset, split, way)  # several sets (and directions) are concatenated in order
            train += pairs
            train_report[key(dataset, split, way)] = report
    if limit:  # a smoke run: an evenly spaced slice keeps every direction in
        from .data.readers import evenly_spaced

        train = evenly_spaced(train, limit) if len(directions) > 1 else train[:limit]
    evals, _ = load(recipe["dataset"], recipe["eval_split"])
    evals = evals[:recipe.get("eval_limit") or len(evals)]
    start = time.time()
    summary = pipe.fit([p.source for p in train], [p.target for p in train], [p.source for p in evals],
                       [p.target for p in evals], output_dir=str(out),
                       **training_args(recipe))
    result = {"task": task, "model": model, "init": init, "train_pairs": len(train), "train_report": train_report,
              "dev": summary["best"], "train_seconds": round(time.time() - start, 1), "recipe": recipe, "test": {}}
    generation = {k: recipe[k] for k in GENERATION_KEYS if k in recipe}
    for way in directions:
        if cls is Translator:
            pipe.direction = way  # the BLEU tokenisation of the target language
        for dataset, split in recipe["test_sets"]:
            pairs, report = load(dataset, split, way)
            pairs = pairs[:recipe.get("test_limit") or len(pairs)]
            t0 = time.time()
            scores = pipe.evaluate([p.source for p in pairs], [p.target for p in pairs], batch_size=64, **generation)
            result["test"][key(dataset, split, way)] = {
                "model": scores, "baseline": _baseline(pipe, recipe, train, pairs), "read": report,
                "generation": generation, "seconds": round(time.time() - t0, 1),
                "examples": pipe.predict([p.source for p in pairs[:3]], **generation)}
    if cls is Translator:
        pipe.direction = direction
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "result.json", json.dumps(result, ensure_ascii=False, indent=2))
    import dataclasses

    pipe.generation = dataclasses.replace(pipe.generation, **generation)  # ship the decoding that was measured
    pipe.save_pretrained(out / "final")
    return result
