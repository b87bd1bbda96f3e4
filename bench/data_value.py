#!/usr/bin/env python
"""Does curation make a better judge? Train one cheap text classifier on labels prepared in
several ways and score it on held-out items.

The judge is always the same: TF-IDF (word 1-2-grams, CJK characters as tokens) + logistic
regression. What changes is how the training items' judgments become training rows:

* ``single``     one random judgment per item (what overlap 1 buys);
* ``all``        every judgment as its own row;
* ``majority``   majority vote per item, ties broken at random;
* ``expertloop`` the platform's consensus (``expertloop.services.consensus.fit_consensus``,
  whatever estimator it ships) turned into training rows by the recipe chosen on the
  training split alone by inner cross-validation (see ``RECIPES``): hard consensus labels
  weighted by their confidence, or the consensus distribution itself (one row per class,
  weighted by its posterior), items below a confidence threshold left out.

Fixed variants of the consensus recipe are reported as extra columns (``el_hard``: consensus
label, no weight; ``el_weighted``: label weighted by confidence; ``el_soft``: posterior rows;
``el_predictive``: rows weighted by the predictive distribution of one more judgment).
``oracle_reference`` is a ceiling, not a recipe: the training items labelled by the rule that
labels the test items (truth, or the strict majority of their judgments).
Every recipe's row weights are scaled to one per training item and the judge's C is chosen per
split on the training items, so recipes differ in their labels, not in their regularisation
(``all_unnormalised``: ``all`` with unit weights, to show that effect). ``vs_test_consensus``
scores the same predictions against the consensus of the test items' own judgments.

Data layout (any folder, or a folder of such folders): ``items.csv`` (``question,text``),
``answer.csv`` (``question,worker,answer``), optional ``truth.csv`` (``question,truth``).
Per seed the items are split at random into training (70 %) and test (30 %) items. The
reference of a test item is its truth, or without ``truth.csv`` the majority of its own
judgments (test items whose judgments tie are not scored); test items' judgments are never
used in training. Accuracy (and macro-F1) are means over the seeds.

    python bench/convert_text_sets.py                     # shared text sets -> bench/out/text-sets/
    python bench/data_value.py                            # table + bench/data_value.png
    python bench/data_value.py --data DIR --json          # one JSON object per data set
    python bench/data_value.py --seeds 3 --no-plot        # quicker

Needs scikit-learn and matplotlib (bench/requirements-data-value.txt), never the product.
Results and the choices behind them: bench/README.md, "Does curation make a better judge?".
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from expertloop.services.consensus import Consensus, ProjectJudgments, fit_consensus  # noqa: E402

try:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
except ImportError:  # pragma: no cover - a benchmark-only dependency
    sys.exit("bench/data_value.py needs scikit-learn: "
             "python3 -m venv .venv-bench && .venv-bench/bin/pip install -e . -r bench/requirements-data-value.txt")

DEFAULT_DATA = HERE / "out" / "text-sets"
TEST_SHARE = 0.3
C_GRID = (1.0, 3.0, 10.0, 30.0, 100.0)   # the judge's inverse regularisation, tuned per split
INNER_FOLDS = 3
# The consensus recipes inner cross-validation chooses from: (rows, confidence threshold).
# rows: "hard" = consensus label weighted by its confidence; "soft" = one row per class
# weighted by the posterior. Items whose confidence is below the threshold are left out.
# "predictive" = one row per class weighted by the consensus' predictive distribution of one more
# judgment from the same pool of trainers (the posterior through their judgment-weighted mean
# confusion matrix): the right soft label when the reference is what trainers answer, not the
# latent class the consensus estimates.
RECIPES = (("hard", 0.0), ("hard", 0.8), ("soft", 0.0), ("soft", 0.8), ("predictive", 0.0))
ADAPTIVE_MIN = 2           # adaptive overlap: judgments every item gets before any stops (with one
#                            judgment per item the consensus cannot rate the trainers)
ADAPTIVE_TARGET = 0.99     # ... then an item stops once its consensus posterior reaches this
ADAPTIVE_ROUND = 0.1       # each adaptive round buys for at most this share of the items
TOKEN = r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]|[^\W\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]{2,}"


# -- data ----------------------------------------------------------------------------------

@dataclass
class TextSet:
    name: str
    items: list[str]                 # question ids, in items.csv order
    texts: list[str]
    judg_item: np.ndarray            # per judgment: index into items
    judg_worker: np.ndarray          # per judgment: worker index
    judg_label: np.ndarray           # per judgment: class index
    classes: list[str]
    truth: dict[int, int]            # item index -> class index (from truth.csv)

    def by_item(self) -> list[np.ndarray]:
        order = np.argsort(self.judg_item, kind="stable")
        bounds = np.searchsorted(self.judg_item[order], np.arange(len(self.items) + 1))
        return [order[bounds[i]:bounds[i + 1]] for i in range(len(self.items))]


def _read_csv(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise SystemExit(f"{path}: missing column(s) {', '.join(missing)}")
        return list(reader)


def load_set(folder: Path) -> TextSet:
    items_rows = _read_csv(folder / "items.csv", ("question", "text"))
    answers = _read_csv(folder / "answer.csv", ("question", "worker", "answer"))
    index = {r["question"]: i for i, r in enumerate(items_rows)}
    unknown = sorted({a["question"] for a in answers} - index.keys())
    if unknown:
        raise SystemExit(f"{folder / 'answer.csv'}: {len(unknown)} question(s) not in items.csv, e.g. {unknown[0]}")
    truth_rows = _read_csv(folder / "truth.csv", ("question", "truth")) if (folder / "truth.csv").exists() else []
    classes = sorted({a["answer"] for a in answers} | {t["truth"] for t in truth_rows})
    cls = {c: i for i, c in enumerate(classes)}
    workers: dict[str, int] = {}
    judged = {a["question"] for a in answers}
    truth = {index[t["question"]]: cls[t["truth"]] for t in truth_rows if t["question"] in judged}
    return TextSet(
        name=folder.name,
        items=[r["question"] for r in items_rows],
        texts=[r["text"] for r in items_rows],
        judg_item=np.array([index[a["question"]] for a in answers], dtype=np.int64),
        judg_worker=np.array([workers.setdefault(a["worker"], len(workers)) for a in answers], dtype=np.int64),
        judg_label=np.array([cls[a["answer"]] for a in answers], dtype=np.int64),
        classes=classes,
        truth=truth,
    )


def find_sets(root: Path) -> list[Path]:
    if (root / "answer.csv").exists():
        return [root]
    found = sorted(p.parent for p in root.glob("*/answer.csv"))
    if not found:
        raise SystemExit(f"{root}: no answer.csv in it or in its sub-folders "
                         "(run bench/convert_text_sets.py first, or pass --data)")
    return found


# -- label preparation ---------------------------------------------------------------------

def majority(labels: np.ndarray, k: int, rng: np.random.Generator | None) -> int | None:
    """Majority label; ties at random with ``rng``, or None (a tie) without it."""
    counts = np.bincount(labels, minlength=k)
    top = np.flatnonzero(counts == counts.max())
    if len(top) == 1:
        return int(top[0])
    return None if rng is None else int(rng.choice(top))


def consensus_of(ds: TextSet, judgments: np.ndarray) -> tuple[Consensus, np.ndarray]:
    """The platform's consensus on the given judgments; (fit, item -> row of probas_ or -1)."""
    data = ProjectJudgments(
        keys=[f"{i}:0" for i in ds.judg_item[judgments]],
        item_ids=ds.judg_item[judgments].tolist(),
        experts=ds.judg_worker[judgments].tolist(),
        labels=[ds.classes[c] for c in ds.judg_label[judgments]],
        leased_at=[], submitted_at=[], gold={},
    )
    fit = fit_consensus(data)
    assert fit is not None
    rows = np.full(len(ds.items), -1, dtype=np.int64)
    for key, row in fit.index.items():
        rows[int(key.split(":")[0])] = row
    return fit, rows


def consensus_probas(ds: TextSet, fit: Consensus, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
    """(len(items), K) posteriors in ``ds.classes`` order."""
    model = fit.model
    cols = [ds.classes.index(str(c)) for c in model.classes_]
    out = np.zeros((len(items), len(ds.classes)))
    out[:, cols] = np.asarray(model.probas_)[rows[items]]
    return out


def consensus_predictive(ds: TextSet, fit: Consensus, probas: np.ndarray) -> np.ndarray:
    """Per item, the distribution of one more judgment from the same trainers: the posterior
    (``ds.classes`` order) through the judgment-weighted mean of their confusion matrices."""
    model = fit.model
    cols = [ds.classes.index(str(c)) for c in model.classes_]
    weights = np.asarray(model.n_judgments_, dtype=float)
    mean_conf = np.einsum("t,tko->ko", weights, np.asarray(model.confusions_)) / weights.sum()
    k = len(ds.classes)
    conf = np.zeros((k, k))
    conf[np.ix_(cols, cols)] = mean_conf
    missing = [c for c in range(k) if c not in cols]
    conf[missing, missing] = 1.0
    out: np.ndarray = probas @ conf
    return out


def recipe_rows(items: np.ndarray, probas: np.ndarray, rows: str, threshold: float, weighted: bool = True,
                predictive: np.ndarray | None = None):
    """Training rows (item, label, weight) from consensus posteriors of ``items``."""
    conf = probas.max(axis=1)
    keep = conf >= threshold
    items, probas, conf = items[keep], probas[keep], conf[keep]
    if rows == "predictive":
        assert predictive is not None
        probas = predictive[keep]
    if rows == "hard":
        return items, probas.argmax(axis=1), (conf if weighted else np.ones(len(items)))
    it, lab = np.nonzero(probas > 1e-3)
    return items[it], lab, probas[it, lab]


# -- the judge -----------------------------------------------------------------------------

def vectorise(texts: list[str], train: np.ndarray):
    vec = TfidfVectorizer(token_pattern=TOKEN, ngram_range=(1, 2), min_df=2, max_features=50000,
                          sublinear_tf=True, dtype=np.float32)
    vec.fit([texts[i] for i in train])
    return vec.transform(texts)


def judge(X, items: np.ndarray, labels: np.ndarray, weights: np.ndarray | None, k: int,
          normalise: bool = True, C: float | None = None):
    """Fitted judge; a constant predictor when the rows hold a single class.

    With ``normalise`` the row weights are scaled to sum to the number of distinct items, so
    every recipe hands the judge the same total weight and meets the same regularisation:
    otherwise ``all`` (about three rows per item) would simply be a less regularised judge."""
    present = np.unique(labels)
    if len(present) < 2:
        return lambda Xt: np.full(Xt.shape[0], present[0] if len(present) else 0)
    w = np.ones(len(items)) if weights is None else np.asarray(weights, dtype=float)
    if normalise:
        w = w * (len(np.unique(items)) / w.sum())
    clf = LogisticRegression(C=C or JUDGE["C"], solver="saga", max_iter=100, tol=1e-4, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X[items], labels, sample_weight=w)
    return clf.predict


JUDGE = {"C": 10.0}


def tune_judge(ds: TextSet, X, by_item: list[np.ndarray], train: np.ndarray, rng: np.random.Generator) -> float:
    """The judge's C for one training split, then shared by every recipe: 3-fold
    cross-validation of the plain majority-vote recipe on the training items, each held-out
    item scored against the majority of its own judgments."""
    k = len(ds.classes)
    labels = np.array([majority(ds.judg_label[by_item[i]], k, rng) for i in train])
    ref = [majority(ds.judg_label[by_item[i]], k, None) for i in train]
    folds = np.array_split(rng.permutation(len(train)), INNER_FOLDS)
    correct = np.zeros(len(C_GRID))
    for f in folds:
        inner = np.setdiff1d(np.arange(len(train)), f)
        held = np.array([j for j in f if ref[j] is not None], dtype=np.int64)
        y = np.array([ref[j] for j in held], dtype=np.int64)
        for c, C in enumerate(C_GRID):
            correct[c] += np.sum(judge(X, train[inner], labels[inner], None, k, C=C)(X[train[held]]) == y)
    return C_GRID[int(np.argmax(correct))]


def score(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> tuple[float, float]:
    return (float(accuracy_score(y_true, y_pred)),
            float(f1_score(y_true, y_pred, labels=list(range(k)), average="macro", zero_division=0)))


# -- one seed ------------------------------------------------------------------------------

def split(ds: TextSet, by_item: list[np.ndarray], rng: np.random.Generator):
    judged = np.array([i for i, j in enumerate(by_item) if len(j)], dtype=np.int64)
    perm = rng.permutation(judged)
    n_test = round(TEST_SHARE * len(perm))
    test, train = np.sort(perm[:n_test]), np.sort(perm[n_test:])
    ref = {}
    for i in test:
        r = ds.truth.get(int(i)) if ds.truth else majority(ds.judg_label[by_item[i]], len(ds.classes), None)
        if r is not None:
            ref[int(i)] = r
    scored = np.array(sorted(ref), dtype=np.int64)
    return train, scored, np.array([ref[i] for i in scored], dtype=np.int64)


def choose_recipe(ds, X, by_item, train, probas_train, rng, predictive=None) -> tuple[str, float]:
    """The consensus recipe with the best inner cross-validated accuracy (training items only;
    each fold's items are scored against the majority of their own judgments)."""
    k = len(ds.classes)
    folds = np.array_split(rng.permutation(len(train)), INNER_FOLDS)
    ref = np.array([majority(ds.judg_label[by_item[i]], k, None) if len(by_item[i]) else None for i in train],
                   dtype=object)
    correct = np.zeros(len(RECIPES))
    total = 0
    for f in folds:
        inner = np.setdiff1d(np.arange(len(train)), f)
        held = f[[ref[j] is not None for j in f]]
        if not len(held):
            continue
        y = ref[held].astype(np.int64)
        total += len(held)
        for r, (rows, threshold) in enumerate(RECIPES):
            it, lab, w = recipe_rows(inner, probas_train[inner], rows, threshold,
                                     predictive=None if predictive is None else predictive[inner])
            pred = judge(X, train[it], lab, w, k)(X[train[held]])
            correct[r] += float(np.sum(pred == y))
    best = int(np.argmax(correct)) if total else 0
    return RECIPES[best]


def run_seed(ds: TextSet, by_item: list[np.ndarray], seed: int) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    k = len(ds.classes)
    train, test, y_test = split(ds, by_item, rng)
    X = vectorise(ds.texts, train)
    Xt = X[test]
    JUDGE["C"] = tune_judge(ds, X, by_item, train, rng)
    out: dict[str, object] = {"n_train": len(train), "n_test": len(test), "C": JUDGE["C"]}

    # A second reference, for reading the table only: the platform's consensus fitted on the
    # test items' own judgments (the judge never sees them either way).
    test_fit, test_rows = consensus_of(ds, np.concatenate([by_item[i] for i in test]))
    y_cons = consensus_probas(ds, test_fit, test_rows, test).argmax(axis=1)

    def record(name, items, labels, weights=None, normalise=True):
        pred = judge(X, items, labels, weights, k, normalise)(Xt)
        out[name] = score(y_test, pred, k)
        out[name + "@consensus"] = float(np.mean(pred == y_cons))

    single = np.array([rng.choice(by_item[i]) for i in train])
    record("single", ds.judg_item[single], ds.judg_label[single])
    train_judgments = np.concatenate([by_item[i] for i in train])
    record("all", ds.judg_item[train_judgments], ds.judg_label[train_judgments])
    record("all_unnormalised", ds.judg_item[train_judgments], ds.judg_label[train_judgments], normalise=False)
    record("majority", train, np.array([majority(ds.judg_label[by_item[i]], k, rng) for i in train]))

    fit, rows = consensus_of(ds, train_judgments)
    probas = consensus_probas(ds, fit, rows, train)
    it, lab, w = recipe_rows(train, probas, "hard", 0.0, weighted=False)
    record("el_hard", it, lab, w)
    it, lab, w = recipe_rows(train, probas, "hard", 0.0)
    record("el_weighted", it, lab, w)
    it, lab, w = recipe_rows(train, probas, "soft", 0.0)
    record("el_soft", it, lab, w)
    predictive = consensus_predictive(ds, fit, probas)
    it, lab, w = recipe_rows(train, probas, "predictive", 0.0, predictive=predictive)
    record("el_predictive", it, lab, w)
    chosen = choose_recipe(ds, X, by_item, train, probas, rng, predictive)
    it, lab, w = recipe_rows(train, probas, *chosen, predictive=predictive)
    record("expertloop", it, lab, w)
    # Ceiling, not a recipe (it reads the reference): the training items labelled by the very rule
    # that labels the test items (their truth, or the strict majority of all their judgments; ties
    # left out). No labelling of the training items is closer to what the judge is scored on.
    ref_items, ref_labels = [], []
    for i in train:
        r = ds.truth.get(int(i)) if ds.truth else majority(ds.judg_label[by_item[i]], k, None)
        if r is not None:
            ref_items.append(i)
            ref_labels.append(r)
    record("oracle_reference", np.array(ref_items, dtype=np.int64), np.array(ref_labels, dtype=np.int64))
    out["recipe"] = f"{chosen[0]}>={chosen[1]:g}"
    return out


# -- cost curve: judge accuracy against judgments bought -----------------------------------

def curve_seed(ds: TextSet, by_item: list[np.ndarray], seed: int, max_k: int) -> dict[str, list]:
    """Fixed overlap k = 1..max_k against adaptive overlap at the same budgets (one seed)."""
    rng = np.random.default_rng(10_000 + seed)
    k = len(ds.classes)
    train, test, y_test = split(ds, by_item, rng)
    X = vectorise(ds.texts, train)
    Xt = X[test]
    JUDGE["C"] = tune_judge(ds, X, by_item, train, rng)   # one C per split, for every point
    order = [rng.permutation(by_item[i]) for i in train]      # the order judgments would arrive in
    avail = np.array([len(o) for o in order])

    def el_accuracy(bought: np.ndarray) -> float:
        judgments = np.concatenate([order[j][:bought[j]] for j in range(len(train))])
        fit, rows = consensus_of(ds, judgments)
        probas = consensus_probas(ds, fit, rows, train)
        it, lab, w = recipe_rows(train, probas, "soft", 0.0)
        return float(np.mean(judge(X, it, lab, w, k)(Xt) == y_test))

    out: dict[str, list] = {"fixed_x": [], "fixed_majority": [], "fixed_el": [], "adaptive_x": [], "adaptive_el": []}
    for kk in range(1, max_k + 1):
        bought = np.minimum(avail, kk)
        labels = np.array([majority(ds.judg_label[order[j][:bought[j]]], k, rng) for j in range(len(train))])
        out["fixed_x"].append(bought.sum() / len(train))
        out["fixed_majority"].append(float(np.mean(judge(X, train, labels, None, k)(Xt) == y_test)))
        out["fixed_el"].append(el_accuracy(bought))
        # adaptive at the same budget: ADAPTIVE_MIN judgments each (fewer only where the budget
        # is below that), then rounds for the items still in doubt, most in doubt first
        budget = int(bought.sum())
        adaptive = np.minimum(avail, min(kk, ADAPTIVE_MIN))
        while adaptive.sum() < budget:
            judgments = np.concatenate([order[j][:adaptive[j]] for j in range(len(train))])
            fit, rows = consensus_of(ds, judgments)
            conf = consensus_probas(ds, fit, rows, train).max(axis=1)
            doubt = np.flatnonzero((conf < ADAPTIVE_TARGET) & (adaptive < avail))
            if not len(doubt):
                break
            doubt = doubt[np.argsort(conf[doubt], kind="stable")]
            n = min(len(doubt), max(1, int(ADAPTIVE_ROUND * len(train))), budget - int(adaptive.sum()))
            adaptive[doubt[:n]] += 1
        out["adaptive_x"].append(adaptive.sum() / len(train))
        out["adaptive_el"].append(el_accuracy(adaptive))
    return out


# -- driver --------------------------------------------------------------------------------

KEYS = ("single", "all", "majority", "expertloop", "el_hard", "el_weighted", "el_soft", "el_predictive",
        "all_unnormalised", "oracle_reference")


def evaluate(folder: Path, seeds: int) -> dict[str, object]:
    ds = load_set(folder)
    by_item = ds.by_item()
    t0 = time.perf_counter()
    runs = [run_seed(ds, by_item, s) for s in range(seeds)]
    result: dict[str, object] = {"dataset": ds.name}
    for key in KEYS:
        acc = np.array([r[key][0] for r in runs])
        f1 = np.array([r[key][1] for r in runs])
        result[key] = round(float(acc.mean()), 4)
        result[f"{key}_macro_f1"] = round(float(f1.mean()), 4)
    result["vs_test_consensus"] = {key: round(float(np.mean([r[key + "@consensus"] for r in runs])), 4)
                                   for key in KEYS}
    result["n_train_items"] = int(np.mean([r["n_train"] for r in runs]))
    result["n_test_items"] = int(np.mean([r["n_test"] for r in runs]))
    result["n_judgments"] = len(ds.judg_label)
    result["classes"] = ds.classes
    share = np.bincount(ds.judg_label, minlength=len(ds.classes)) / len(ds.judg_label)
    result["unbalanced"] = bool(share.max() > 1.5 / len(ds.classes))
    best = max(("single", "all", "majority"), key=lambda k: result[k])
    diffs = np.array([r["expertloop"][0] - max(r[b][0] for b in ("single", "all", "majority")) for r in runs])
    paired = np.array([r["expertloop"][0] - r[best][0] for r in runs])
    result["best_baseline"] = best
    result["gain_over_best"] = round(float(result["expertloop"]) - float(result[best]), 4)
    result["gain_over_best_se"] = round(float(paired.std(ddof=1) / np.sqrt(len(paired))) if len(runs) > 1 else 0.0, 4)
    result["gain_over_per_seed_best"] = round(float(diffs.mean()), 4)
    result["target_met"] = bool(result["gain_over_best"] >= 0.01)
    chosen = [str(x["recipe"]) for x in runs]
    result["recipes_chosen"] = {r: chosen.count(r) for r in sorted(set(chosen))}
    cs = [str(x["C"]) for x in runs]
    result["judge_C_chosen"] = {c: cs.count(c) for c in sorted(set(cs), key=float)}
    result["seeds"] = seeds
    result["seconds"] = round(time.perf_counter() - t0, 1)
    return result


def curves(folder: Path, seeds: int) -> dict[str, object]:
    ds = load_set(folder)
    by_item = ds.by_item()
    per_item = np.array([len(j) for j in by_item if len(j)])
    max_k = int(np.percentile(per_item, 95))
    runs = [curve_seed(ds, by_item, s, max_k) for s in range(seeds)]
    return {"dataset": ds.name, **{key: np.mean([r[key] for r in runs], axis=0).tolist() for key in runs[0]}}


def plot(all_curves: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(all_curves)
    cols = min(n, 2)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.8 * rows), squeeze=False)
    for ax, c in zip(axes.flat, all_curves, strict=False):
        ax.plot(c["fixed_x"], c["fixed_majority"], "o--", color="0.5", label="fixed overlap, majority")
        ax.plot(c["fixed_x"], c["fixed_el"], "o-", color="tab:blue", label="fixed overlap, expertloop")
        ax.plot(c["adaptive_x"], c["adaptive_el"], "s-", color="tab:orange", label="adaptive overlap, expertloop")
        lo, hi = ax.get_ylim()
        if hi - lo < 0.03:                    # a flat curve should look flat, not like noise
            mid = (hi + lo) / 2
            ax.set_ylim(mid - 0.015, mid + 0.015)
        ax.set_title(c["dataset"])
        ax.set_xlabel("judgments bought per training item")
        ax.set_ylabel("judge accuracy on held-out items")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8, loc="lower right")
    fig.suptitle("TF-IDF + logistic regression judge: accuracy against judgments bought")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def print_table(results: list[dict]) -> None:
    cols = KEYS
    print("accuracy (macro-F1), mean over seeds; expertloop = consensus recipe chosen by inner CV")
    print(f"{'data set':<12}" + "".join(f"{c:>17}" for c in cols) + f"{'gain':>8}{'target':>8}{'train/test':>12}")
    for r in results:
        cells = "".join(f"{r[c]:>8.4f} ({r[c + '_macro_f1']:.3f})" for c in cols)
        print(f"{r['dataset']:<12}{cells}{r['gain_over_best']:>+8.4f}{'met' if r['target_met'] else 'MISSED':>8}"
              f"{r['n_train_items']:>6}/{r['n_test_items']:<5}")
    for r in results:
        print(f"  {r['dataset']}: best baseline {r['best_baseline']}, gain {r['gain_over_best']:+.4f} "
              f"(paired s.e. {r['gain_over_best_se']:.4f}); recipes chosen {r['recipes_chosen']}; {r['seconds']} s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA,
                    help="a data-set folder, or a folder of them (default bench/out/text-sets)")
    ap.add_argument("--seeds", type=int, default=10, help="train/test splits per data set (default 10)")
    ap.add_argument("--json", action="store_true", help="one JSON object per data set, no table")
    ap.add_argument("--no-plot", action="store_true", help="skip the cost curve")
    ap.add_argument("--curve-seeds", type=int, default=5, help="splits per point of the cost curve (default 5)")
    ap.add_argument("--plot", type=Path, default=HERE / "data_value.png", help="where the cost curve goes")
    args = ap.parse_args(argv)
    if args.seeds < 1 or args.curve_seeds < 1:
        ap.error("--seeds and --curve-seeds must be at least 1")
    folders = find_sets(args.data)
    results = []
    for folder in folders:
        r = evaluate(folder, args.seeds)
        results.append(r)
        if args.json:
            print(json.dumps(r), flush=True)
    if not args.json:
        print_table(results)
    if not args.no_plot:
        all_curves = [curves(f, args.curve_seeds) for f in folders]
        plot(all_curves, args.plot)
        for c in all_curves:
            print(json.dumps({"curve": c["dataset"], **{k: [round(v, 4) for v in vals]
                                                          for k, vals in c.items() if k != "dataset"}})
                  if args.json else
                  f"curve {c['dataset']}: fixed x {np.round(c['fixed_x'], 2).tolist()} "
                  f"majority {np.round(c['fixed_majority'], 4).tolist()} el {np.round(c['fixed_el'], 4).tolist()}; "
                  f"adaptive x {np.round(c['adaptive_x'], 2).tolist()} el {np.round(c['adaptive_el'], 4).tolist()}",
                  file=sys.stderr if args.json else sys.stdout)
        print(f"plot: {args.plot}", file=sys.stderr if args.json else sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
