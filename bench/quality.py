#!/usr/bin/env python
"""Benchmark expertloop.quality against crowd-kit, choix and krippendorff.

    python bench/quality.py [--data DIR] [--skip-large] [--iters 10,100]
    python bench/quality.py --sparse [--data DIR] [--json] [--seeds 20] [--plot bench/reliability.png]

Prints markdown tables:

1. accuracy of every aggregator on real crowd data sets (folders holding
   ``answer.csv`` = question,worker,answer and ``truth.csv`` = question,truth;
   accuracy over the questions in truth.csv, an unanswered one counts as wrong);
2. fit time, peak memory and accuracy on a synthetic set of 1,000,000 labels
   (100,000 items x 10 labels, 2,000 trainers of varied accuracy, 4 classes),
   each fit in a fresh subprocess;
3. Bradley-Terry on 1,000 items x 100,000 comparisons against choix and crowd-kit;
4. Krippendorff's alpha against the krippendorff package.

``--sparse`` instead replays every data set at k = 1, 2, 3 and 5 random judgments
per item (20 seeds): accuracy of majority vote (random tie-breaking), crowd-kit's
Dawid-Skene and expertloop's default consensus (BayesianDawidSkene), the
consensus's expected calibration error and the Spearman correlation of its
trainer reliabilities with the trainers' true accuracy, next to oracle bounds
that use the truth (the best ranking any method can reach at that k; the ECE of
Dawid-Skene with the trainers' true confusions) and the ECE a perfectly
calibrated consensus would show on as many items; ``--json`` prints one
JSON object per data set and k; ``--plot`` draws a reliability diagram.

This is not a test: it needs the benchmark environment (bench/requirements-quality.txt).
Anything missing from it is reported and skipped; expertloop's side always runs.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared/data/crowd"

import expertloop.quality as eq  # noqa: E402  (after the sys.path line above)

METHODS = ["MV", "WMV", "DS", "OneCoinDS", "GLAD", "MACE"]
# DS+prior: Dawid-Skene with a weak diagonal prior (the consensus of expertloop 0.1);
# BDS: BayesianDawidSkene, the platform's consensus now. Neither has a crowd-kit counterpart.
ACCURACY_METHODS = [*METHODS, "DS+prior", "BDS"]
CK_NAMES = {"MV": "MajorityVote", "WMV": "Wawa", "DS": "DawidSkene", "OneCoinDS": "OneCoinDawidSkene",
            "GLAD": "GLAD", "MACE": "MACE", "DS+prior": "–", "BDS": "–"}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def crowdkit_or_none():
    try:
        import crowdkit.aggregation as ck
        import pandas  # noqa: F401  (crowd-kit needs it)
        return ck
    except Exception as exc:  # ImportError, or scikit-learn >= 1.6 breaking crowd-kit 1.4.2
        log(f"crowd-kit unavailable ({type(exc).__name__}: {exc}); running expertloop only")
        return None


def el_model(name: str, max_iter: int | None = None):
    kw = {} if max_iter is None else {"max_iter": max_iter, "tol": -np.inf}
    return {"MV": lambda: eq.MajorityVote(), "WMV": lambda: eq.WeightedMajorityVote(),
            "DS": lambda: eq.DawidSkene(**kw), "OneCoinDS": lambda: eq.OneCoinDawidSkene(**kw),
            "GLAD": lambda: eq.GLAD(**kw), "MACE": lambda: eq.MACE(**kw),
            "DS+prior": lambda: eq.DawidSkene(diagonal_prior=0.5, **kw),
            "BDS": lambda: eq.BayesianDawidSkene(**kw)}[name]()


def ck_model(ck, name: str, max_iter: int | None = None):
    if name in ("MV", "WMV"):
        return getattr(ck, CK_NAMES[name])()
    if max_iter is None:
        return getattr(ck, CK_NAMES[name])()
    if name == "MACE":
        return ck.MACE(n_restarts=1, n_iter=max_iter)
    return getattr(ck, CK_NAMES[name])(n_iter=max_iter, tol=-np.inf)


# -- 1. real data sets ------------------------------------------------------------------------

def read_set(folder: Path):
    def rows(path):
        with open(path, newline="") as fh:
            return list(csv.reader(fh))[1:]

    ans = np.array(rows(folder / "answer.csv"), dtype=object)
    truth = dict((q, t) for q, t in rows(folder / "truth.csv"))
    return ans[:, 0].astype(str), ans[:, 1].astype(str), ans[:, 2].astype(str), truth


def find_sets(data: Path) -> list[Path]:
    if (data / "answer.csv").exists():
        return [data]
    return sorted(p for p in data.iterdir() if (p / "answer.csv").exists() and (p / "truth.csv").exists())


def accuracy_of(pred: dict, truth: dict) -> float:
    return float(np.mean([str(pred.get(q)) == str(t) for q, t in truth.items()]))


def run_accuracy(sets: list[Path], ck) -> list[str]:
    res: dict = {}
    for folder in sets:
        items, workers, labels, truth = read_set(folder)
        log(f"{folder.name}: {len(items)} labels, {len(set(items))} items, {len(truth)} with truth")
        df = None
        if ck is not None:
            import pandas as pd
            df = pd.DataFrame({"task": items, "worker": workers, "label": labels})
        for m in ACCURACY_METHODS:
            t0 = time.perf_counter()
            model = el_model(m).fit(items, workers, labels)
            res[(folder.name, m, "el")] = (accuracy_of(dict(zip(model.item_ids_, model.labels_, strict=False)), truth),
                                           time.perf_counter() - t0)
            if df is not None and m in METHODS:
                t0 = time.perf_counter()
                pred = ck_model(ck, m).fit_predict(df)
                res[(folder.name, m, "ck")] = (accuracy_of(pred.to_dict(), truth), time.perf_counter() - t0)
            log(f"  {m}: " + ", ".join(f"{s} {res[(folder.name, m, s)][0]:.4f} ({res[(folder.name, m, s)][1]:.1f}s)"
                                         for s in ("el", "ck") if (folder.name, m, s) in res))
        if df is not None:
            res[(folder.name, "equiv")] = ds_equivalence(ck, df, items, workers, labels)
    names = [f.name for f in sets]
    out = ["### Accuracy on real crowd data (share of truth.csv questions labelled correctly)", "",
           "| method (expertloop / crowd-kit) | " + " | ".join(f"{n} EL | {n} CK" for n in names) + " |",
           "|---|" + "---:|---:|" * len(names)]

    def cell(key):
        return f"{res[key][0]:.4f}" if key in res else "n/a"

    for m in ACCURACY_METHODS:
        out.append(f"| {m} / {CK_NAMES[m]} | " + " | ".join(
            f"{cell((n, m, 'el'))} | {cell((n, m, 'ck'))}" for n in names) + " |")
    best = []
    for n in names:
        for s in ("el", "ck"):
            accs = [(res[(n, m, s)][0], m) for m in ACCURACY_METHODS if (n, m, s) in res]
            best.append(f"{max(accs)[0]:.4f} ({max(accs)[1]})" if accs else "n/a")
    out.append("| **best** | " + " | ".join(best) + " |")
    out += ["", "Fit time in seconds (same run):", "",
            "| method | " + " | ".join(f"{n} EL | {n} CK" for n in names) + " |",
            "|---|" + "---:|---:|" * len(names)]
    for m in ACCURACY_METHODS:
        out.append(f"| {m} | " + " | ".join(
            " | ".join(f"{res[(n, m, s)][1]:.2f}" if (n, m, s) in res else "n/a" for s in ("el", "ck"))
            for n in names) + " |")
    if any((n, "equiv") in res for n in names):
        out += ["", f"Dawid-Skene at equal iterations ({EQUIV_ITERS}, tol disabled, expertloop smoothing=1e-10 "
                "to mimic crowd-kit's 1e-10 clipping): largest absolute difference between the two posteriors:",
                "", "| " + " | ".join(names) + " |", "|" + "---:|" * len(names),
                "| " + " | ".join(f"{res[(n, 'equiv')]:.1e}" if (n, "equiv") in res else "n/a" for n in names) + " |"]
    return out


EQUIV_ITERS = 20


def ds_equivalence(ck, df, items, workers, labels) -> float:
    ref = ck.DawidSkene(n_iter=EQUIV_ITERS, tol=-np.inf).fit(df).probas_
    ours = eq.DawidSkene(max_iter=EQUIV_ITERS, tol=-np.inf, smoothing=1e-10).fit(items, workers, labels)
    ref = ref.reindex(index=ours.item_ids_, columns=ours.classes_).to_numpy()
    return float(np.abs(ref - ours.probas_).max())


# -- 2. one million labels, one subprocess per fit ---------------------------------------------

def synth_labels(n_items=100_000, per_item=10, n_trainers=2_000, k=4, seed=2024):
    """Trainers with accuracy ~ U(0.3, 0.95); a trainer labels an item at most once."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n_items)
    tr = rng.integers(0, n_trainers, (n_items, per_item))
    while True:
        s = np.sort(tr, axis=1)
        dup = (s[:, 1:] == s[:, :-1]).any(axis=1)
        if not dup.any():
            break
        tr[dup] = rng.integers(0, n_trainers, (int(dup.sum()), per_item))
    acc = rng.uniform(0.3, 0.95, n_trainers)
    items = np.repeat(np.arange(n_items), per_item)
    trainers = tr.ravel()
    right = rng.random(items.size) < acc[trainers]
    labels = np.where(right, truth[items], (truth[items] + rng.integers(1, k, items.size)) % k)
    return items, trainers, labels, truth


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def worker(spec: dict) -> dict:
    """Runs in a fresh interpreter: load data, warm up, reset the RSS high-water mark, fit."""
    d = np.load(spec["data"])
    items, trainers, labels, truth = d["items"], d["trainers"], d["labels"], d["truth"]
    small = slice(0, 2000)
    if spec["lib"] == "ck":
        import pandas as pd
        ck = crowdkit_or_none()
        df = pd.DataFrame({"task": items, "worker": trainers, "label": labels})
        ck_model(ck, spec["method"], 2).fit_predict(df.iloc[small])
        def make():
            return ck_model(ck, spec["method"], spec["iters"])
    else:
        el_model(spec["method"], 2).fit(items[small], trainers[small], labels[small])
        def make():
            return el_model(spec["method"], spec["iters"])
    gc.collect()
    # Peak memory of the fit = resident-set high-water mark (VmHWM) after the fit
    # minus resident set (VmRSS) before it, with the high-water mark reset by
    # /proc/self/clear_refs once data and warm-up are done. getrusage's ru_maxrss
    # is not used where VmHWM exists: after fork+exec it also remembers the
    # parent's resident set.
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        reset = True
    except OSError:
        reset = False
    base = _status_kib("VmRSS") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    c0 = time.process_time()
    t0 = time.perf_counter()
    fitted = make().fit_predict(df) if spec["lib"] == "ck" else make().fit(items, trainers, labels)
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - c0
    peak = (_status_kib("VmHWM") if reset else None) or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if spec["lib"] == "ck":
        labels_by_item = fitted.reindex(np.arange(truth.size)).to_numpy()
    else:
        labels_by_item = np.full(truth.size, -1)
        labels_by_item[fitted.item_ids_] = fitted.labels_
    return {"seconds": seconds, "cpu_seconds": cpu, "peak_mib": max(peak - base, 0) / 1024,
            "process_peak_mib": peak / 1024, "hwm_reset": reset,
            "accuracy": float(np.mean(labels_by_item == truth))}


def run_in_subprocess(spec: dict, timeout: float) -> dict | None:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_worker", json.dumps(spec)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"timeout": timeout}
    if out.returncode != 0:
        log(f"worker failed: {out.stderr.strip().splitlines()[-1:]}")
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_large(ck, iters: list[int], timeout: float, ck_all: bool) -> list[str]:
    items, trainers, labels, truth = synth_labels()
    tmp = Path(tempfile.mkdtemp(prefix="quality-bench-")) / "synth.npz"
    np.savez(tmp, items=items, trainers=trainers, labels=labels, truth=truth)
    log(f"synthetic set: {labels.size:,} labels, {truth.size:,} items, {np.unique(trainers).size:,} trainers")
    plan = [("MV", None), ("WMV", None)]
    plan += [("DS", n) for n in iters] + [("OneCoinDS", n) for n in iters]
    plan += [("BDS", None)] + [("BDS", n) for n in iters]
    plan += [("MACE", min(iters)), ("GLAD", min(iters))]
    rows = []
    for method, n in plan:
        got = {}
        for lib in ("el", "ck"):
            if lib == "ck" and (ck is None or method == "BDS" or (method in ("GLAD", "MACE") and not ck_all)
                                or (method == "OneCoinDS" and n != min(iters) and not ck_all)):
                continue
            spec = {"lib": lib, "method": method, "iters": n, "data": str(tmp)}
            got[lib] = run_in_subprocess(spec, timeout)
            log(f"{method} iters={n} {lib}: {got[lib]}")
        rows.append((method, n, got))
    tmp.unlink()

    def cell(r, skipped="skipped"):
        if r is None:
            return skipped
        if "timeout" in r:
            return f"> {r['timeout']:.0f}"
        return f"{r['seconds']:.2f} / {r['cpu_seconds']:.2f}"

    def mem(r):
        if not r or "timeout" in r:
            return "-"
        return f"{r['peak_mib']:.0f} / {r['process_peak_mib']:.0f}"

    def acc(r):
        return f"{r['accuracy']:.4f}" if r and "timeout" not in r else "-"

    out = ["### 1,000,000 labels (100k items x 10, 2,000 trainers, 4 classes)", "",
           "Times are wall / CPU seconds of `fit` alone; speed-up = crowd-kit CPU time / expertloop CPU time. "
           "Memory: fit's peak over the resident set before it / whole-process peak, MiB.", "",
           "| method (EL / CK) | iters | EL s wall / CPU | CK s wall / CPU | speed-up | EL MiB fit / process "
           "| CK MiB fit / process | EL acc | CK acc |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for method, n, got in rows:
        el, ckr = got.get("el"), got.get("ck")
        speed = "n/a"
        if el and ckr and "timeout" not in el:
            speed = (f"{ckr['cpu_seconds'] / el['cpu_seconds']:.0f}x" if "timeout" not in ckr
                     else f"> {ckr['timeout'] / el['seconds']:.0f}x")
        name = f"{method} / {CK_NAMES[method]}" + (" (1 restart)" if method == "MACE" else "")
        out.append(f"| {name} | {n if n else '-'} | {cell(el, 'n/a')} | {cell(ckr)} | {speed} | {mem(el)} | "
                   f"{mem(ckr)} | {acc(el)} | {acc(ckr)} |")
    return out


# -- 3. Bradley-Terry --------------------------------------------------------------------------

def bt_data(seed, n=1_000, m=100_000):
    rng = np.random.default_rng(seed)
    strength = rng.normal(0, 1, n)
    a = rng.integers(0, n, m)
    b = (a + rng.integers(1, n, m)) % n
    win = rng.random(m) < 1 / (1 + np.exp(-(strength[a] - strength[b])))
    return strength, a, b, np.where(win, a, b), np.where(win, b, a)


def run_bt(ck, seeds: int) -> list[str]:
    """Time and Kendall tau of each method, averaged over ``seeds`` simulated data sets."""
    from scipy.stats import kendalltau

    try:
        import choix
    except ImportError:
        choix = None
        log("choix not installed; skipped")
    n = 1_000
    results: dict[str, list[tuple[float, float]]] = {}

    def by_item(model):
        s = np.full(n, np.nan)
        s[model.item_ids_] = model.scores_
        return s

    eq.BradleyTerry().fit(np.arange(10), np.arange(1, 11))  # warm-up (imports)
    for seed in range(seeds):
        strength, a, b, w, lose = bt_data(seed)
        trainers = np.random.default_rng(seed).integers(0, 100, w.size)
        methods = [("expertloop BradleyTerry(alpha=0.01)",
                    lambda w=w, lose=lose: eq.BradleyTerry(alpha=0.01).fit(w, lose), by_item),
                   ("expertloop CrowdBT (100 reliable trainers)",
                    lambda w=w, lose=lose, trainers=trainers: eq.CrowdBT().fit(w, lose, trainers), by_item)]
        if choix is not None:
            pairs = list(zip(w.tolist(), lose.tolist(), strict=False))  # input preparation is not timed
            comp = np.zeros((n, n))
            np.add.at(comp, (w, lose), 1.0)
            methods += [("choix.ilsr_pairwise(alpha=0.01)",
                         lambda pairs=pairs: choix.ilsr_pairwise(n, pairs, alpha=0.01), lambda s: s),
                        ("choix.ilsr_pairwise_dense(alpha=0.01)",
                         lambda comp=comp: choix.ilsr_pairwise_dense(comp, alpha=0.01), lambda s: s)]
        if ck is not None:
            import pandas as pd
            df = pd.DataFrame({"worker": 0, "left": a, "right": b, "label": w})
            methods.append(("crowd-kit BradleyTerry(n_iter=100, tol=0)",
                            lambda df=df: ck.BradleyTerry(n_iter=100, tol=0).fit(df),
                            lambda r: r.scores_.reindex(np.arange(n)).to_numpy()))
        for name, fit, scores in methods:
            t0 = time.perf_counter()
            res = fit()
            dt = time.perf_counter() - t0
            tau = kendalltau(scores(res), strength)[0]
            results.setdefault(name, []).append((dt, tau))
            log(f"BT seed {seed} {name}: {dt:.3f}s tau={tau:.5f}")
    out = [f"### Bradley-Terry: 1,000 items x 100,000 comparisons, {seeds} simulated data sets", "",
           "| method | fit s (median) | Kendall tau vs true strengths (mean) | tau per data set |",
           "|---|---:|---:|---|"]
    for name, r in results.items():
        t, tau = np.array(r).T
        out.append(f"| {name} | {np.median(t):.3f} | {tau.mean():.5f} | {' '.join(f'{x:.4f}' for x in tau)} |")
    return out


# -- 4. Krippendorff's alpha -------------------------------------------------------------------

def run_alpha() -> list[str]:
    rng = np.random.default_rng(11)
    n_r, n_u = 10, 20_000
    truth = rng.integers(1, 6, n_u)
    data = np.where(rng.random((n_r, n_u)) < 0.7, truth, rng.integers(1, 6, (n_r, n_u))).astype(float)
    data[rng.random(data.shape) < 0.3] = np.nan
    try:
        import krippendorff
    except ImportError:
        krippendorff = None
        log("krippendorff not installed; timing expertloop only")
    out = [f"### Krippendorff's alpha: {n_r} trainers x {n_u:,} items, 30 % missing, 5-point scale", "",
           "| level | expertloop s | krippendorff s | expertloop alpha | krippendorff alpha |",
           "|---|---:|---:|---:|---:|"]
    eq.krippendorff_alpha(data[:, :50])  # warm-up (imports)
    for level in ("nominal", "ordinal", "interval"):
        if krippendorff is not None:
            krippendorff.alpha(reliability_data=data[:, :50], level_of_measurement=level)
        t0 = time.perf_counter()
        ours = eq.krippendorff_alpha(data, level=level).value
        t_ours = time.perf_counter() - t0
        t_ref, ref = float("nan"), float("nan")
        if krippendorff is not None:
            t0 = time.perf_counter()
            ref = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
            t_ref = time.perf_counter() - t0
        out.append(f"| {level} | {t_ours:.3f} | {t_ref:.3f} | {ours:.6f} | {ref:.6f} |")
        log(f"alpha {level}: ours {t_ours:.3f}s, ref {t_ref:.3f}s")
    return out


# -- 5. the sparse regime: k random judgments per item -----------------------------------------

SPARSE_KS = (1, 2, 3, 5)
ECE_BINS = 10


def sample_per_item(items: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of at most ``k`` judgments per item, drawn at random without replacement."""
    order = rng.permutation(items.size)
    shuffled = items[order]
    srt = np.argsort(shuffled, kind="stable")
    grouped = shuffled[srt]
    start = np.r_[0, np.flatnonzero(grouped[1:] != grouped[:-1]) + 1]
    rank = np.arange(grouped.size) - np.repeat(start, np.diff(np.r_[start, grouped.size]))
    return np.sort(order[srt[rank < k]])


def majority_random_ties(items: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> dict:
    """Majority vote per item, ties broken uniformly at random."""
    item_ids, item_codes = np.unique(items, return_inverse=True)
    classes, label_codes = np.unique(labels, return_inverse=True)
    counts = np.zeros((item_ids.size, classes.size))
    np.add.at(counts, (item_codes, label_codes), 1.0)
    top = counts == counts.max(axis=1, keepdims=True)
    noise = rng.random(counts.shape)
    return dict(zip(item_ids, classes[np.argmax(np.where(top, noise, -1.0), axis=1)], strict=True))


def calibration_bins(conf: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> tuple[np.ndarray, ...]:
    """Per equal-width confidence bin: count, mean confidence, accuracy."""
    b = np.minimum((conf * bins).astype(int), bins - 1)
    n = np.bincount(b, minlength=bins).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(b, weights=conf, minlength=bins) / n
        acc = np.bincount(b, weights=correct.astype(float), minlength=bins) / n
    return n, mean_conf, acc


def ece(conf: np.ndarray, correct: np.ndarray) -> float:
    """Expected calibration error: bin-weighted |confidence - accuracy| (10 equal-width bins)."""
    n, mean_conf, acc = calibration_bins(conf, correct)
    keep = n > 0
    return float((n[keep] / n.sum() * np.abs(mean_conf[keep] - acc[keep])).sum())


_FULL_FITS: dict = {}  # per process: fits on a whole data set (k >= every item's judgments) are reused


def _sparse_seed(job: tuple) -> dict:
    """One replay: (data set, k, seed) -> accuracies, calibration, reliability ranking."""
    name, k, seed, (items, workers, labels, truth_items, truth_labels, true_acc, oracle), use_ck = job
    rng = np.random.default_rng(seed)
    idx = sample_per_item(items, k, rng)
    it, wk, lb = items[idx], workers[idx], labels[idx]
    truth = dict(zip(truth_items, truth_labels, strict=True))
    out: dict = {"dataset": name, "k": k, "seed": seed}
    out["majority_vote"] = accuracy_of(majority_random_ties(it, lb, rng), truth)
    out.update(_oracle_bounds(it, wk, lb, truth, true_acc, oracle))
    if idx.size == items.size:  # every judgment kept: the fits do not depend on the seed
        if name not in _FULL_FITS:
            _FULL_FITS[name] = _sparse_fits(it, wk, lb, truth, true_acc, use_ck)
        out.update(_FULL_FITS[name])
    else:
        out.update(_sparse_fits(it, wk, lb, truth, true_acc, use_ck))
    return out


def _sparse_fits(it, wk, lb, truth: dict, true_acc: dict, use_ck: bool) -> dict:
    from scipy.stats import spearmanr

    out: dict = {}
    model = eq.BayesianDawidSkene().fit(it, wk, lb)
    out["expertloop"] = accuracy_of(dict(zip(model.item_ids_, model.labels_, strict=True)), truth)
    has_truth = np.array([q in truth for q in model.item_ids_])
    correct = np.array([truth.get(q) == lab for q, lab in zip(model.item_ids_, model.labels_, strict=True)])
    out["conf"] = model.confidence_[has_truth]
    out["correct"] = correct[has_truth]
    out["ece"] = ece(out["conf"], out["correct"])
    # sampling floor: the ECE a perfectly calibrated consensus with these confidences shows on this
    # many items (outcomes drawn as Bernoulli(confidence), mean of 50 draws)
    draws = np.random.default_rng(0).random((50, out["conf"].size)) < out["conf"]
    out["ece_floor"] = float(np.mean([ece(out["conf"], d) for d in draws]))
    acc_true = np.array([true_acc[t] for t in model.trainer_ids_])
    out["spearman"] = float(spearmanr(model.reliability_, acc_true)[0])
    enough = model.n_evidence_ >= 5
    out["spearman_5"] = float(spearmanr(model.reliability_[enough], acc_true[enough])[0]) if enough.sum() > 2 else None
    low, high = model.reliability_interval_.T
    out["interval_coverage"] = float(np.mean((low <= acc_true) & (acc_true <= high)))
    old = eq.DawidSkene(diagonal_prior=0.5).fit(it, wk, lb)
    out["expertloop_0_1"] = accuracy_of(dict(zip(old.item_ids_, old.labels_, strict=True)), truth)
    out["crowdkit_ds"] = None
    if use_ck:
        ck = crowdkit_or_none()
        if ck is not None:
            import pandas as pd
            pred = ck.DawidSkene().fit_predict(pd.DataFrame({"task": it, "worker": wk, "label": lb}))
            out["crowdkit_ds"] = accuracy_of(pred.to_dict(), truth)
    return out


def true_confusions(items, trainers, labels, truth: dict) -> dict:
    """What a perfect consensus would know: per trainer, counts of (true label, given label) over
    every judgment of the full set on an item with truth, and the true class shares."""
    classes = sorted(set(labels.tolist()) | set(truth.values()))
    code = {c: i for i, c in enumerate(classes)}
    judged = np.array([q in truth for q in items])
    t_codes, trainer_codes = np.unique(trainers[judged], return_inverse=True)
    true_c = np.array([code[truth[q]] for q in items[judged]])
    given_c = np.array([code[lab] for lab in labels[judged]])
    counts = np.zeros((t_codes.size, len(classes), len(classes)))
    np.add.at(counts, (trainer_codes, true_c, given_c), 1.0)
    prior = np.bincount([code[t] for t in truth.values()], minlength=len(classes)).astype(float)
    return {"classes": classes, "trainers": {t: i for i, t in enumerate(t_codes)}, "counts": counts,
            "prior": prior / prior.sum()}


def _oracle_bounds(it, wk, lb, truth: dict, true_acc: dict, oracle: dict) -> dict:
    """Ceilings no estimator can pass at this k (the replay's items with truth only).

    * ranking: each trainer's accuracy on their sampled judgments scored against the truth (what a
      perfect consensus gives) ranked against their true accuracy (on all their judgments);
    * calibration: the Dawid-Skene posterior (independent judgments) with every trainer's true
      confusion matrix (all their judgments vs truth, half a pseudo-count per cell) and the true
      class shares; its ECE is the calibration error left by the independence assumption alone."""
    from scipy.stats import spearmanr

    out: dict = {}
    judged = np.array([q in truth for q in it])
    right = np.array([truth.get(q) == lab for q, lab in zip(it, lb, strict=True)])
    ids, codes = np.unique(wk[judged], return_inverse=True)
    n = np.bincount(codes, minlength=ids.size)
    emp = np.bincount(codes, weights=right[judged], minlength=ids.size) / n
    acc = np.array([true_acc[t] for t in ids])
    out["oracle_spearman"] = float(spearmanr(emp, acc)[0]) if ids.size > 2 else None
    five = n >= 5
    out["oracle_spearman_5"] = float(spearmanr(emp[five], acc[five])[0]) if five.sum() > 2 else None
    code = {c: i for i, c in enumerate(oracle["classes"])}
    conf = oracle["counts"] + 0.5
    log_conf = np.log(conf / conf.sum(axis=2, keepdims=True))
    q_ids, q_codes = np.unique(it[judged], return_inverse=True)
    t_idx = np.array([oracle["trainers"][t] for t in wk[judged]])
    l_idx = np.array([code[lab] for lab in lb[judged]])
    joint = np.tile(np.log(oracle["prior"]), (q_ids.size, 1))
    np.add.at(joint, q_codes, log_conf[t_idx, :, l_idx])
    joint -= np.logaddexp.reduce(joint, axis=1, keepdims=True)
    post = np.exp(joint)
    pick = post.argmax(axis=1)
    truth_c = np.array([code[truth[q]] for q in q_ids])
    out["oracle_conf"] = post[np.arange(q_ids.size), pick]
    out["oracle_correct"] = pick == truth_c
    out["oracle_ece"] = ece(out["oracle_conf"], out["oracle_correct"])
    out["oracle_accuracy"] = float(out["oracle_correct"].mean())
    return out


def _mean_sd(values: list) -> dict | None:
    vals = [v for v in values if v is not None and np.isfinite(v)]
    if not vals:
        return None
    sd = float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0
    return {"mean": round(float(np.mean(vals)), 4), "sd": round(sd, 4)}


def run_sparse(sets: list[Path], ck, seeds: int, workers: int, plot: Path | None, as_json: bool) -> list[str]:
    import multiprocessing

    jobs = []
    for folder in sets:
        items, trainers, labels, truth = read_set(folder)
        true_acc = {}
        judged = np.array([q in truth for q in items])
        right = np.array([truth.get(q) == lab for q, lab in zip(items, labels, strict=True)])
        for t in np.unique(trainers):
            m = (trainers == t) & judged
            true_acc[t] = float(right[m].mean()) if m.any() else float("nan")
        t_items = np.array(list(truth.keys()))
        t_labels = np.array(list(truth.values()))
        payload = (items, trainers, labels, t_items, t_labels, true_acc,
                   true_confusions(items, trainers, labels, truth))
        jobs += [(folder.name, k, seed, payload, ck is not None) for k in SPARSE_KS for seed in range(seeds)]
    log(f"sparse replays: {len(jobs)} fits on {workers} process(es)")
    t0 = time.perf_counter()
    if workers > 1:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = pool.map(_sparse_seed, jobs, chunksize=4)
    else:
        results = [_sparse_seed(j) for j in jobs]
    log(f"sparse replays done in {time.perf_counter() - t0:.0f} s")
    rows = []
    for folder in sets:
        for k in SPARSE_KS:
            rs = [r for r in results if r["dataset"] == folder.name and r["k"] == k]
            conf = np.concatenate([r["conf"] for r in rs])
            correct = np.concatenate([r["correct"] for r in rs])
            rows.append({"dataset": folder.name, "k": k, "seeds": len(rs),
                         "majority_vote": _mean_sd([r["majority_vote"] for r in rs]),
                         "expertloop": _mean_sd([r["expertloop"] for r in rs]),
                         "crowdkit_ds": _mean_sd([r["crowdkit_ds"] for r in rs]),
                         "expertloop_0_1": _mean_sd([r["expertloop_0_1"] for r in rs]),
                         "ece": _mean_sd([r["ece"] for r in rs]),
                         "ece_pooled": round(ece(conf, correct), 4),
                         "ece_floor": _mean_sd([r["ece_floor"] for r in rs]),
                         "mean_confidence": round(float(conf.mean()), 4),
                         "spearman": _mean_sd([r["spearman"] for r in rs]),
                         "spearman_min5": _mean_sd([r["spearman_5"] for r in rs]),
                         "interval_coverage": _mean_sd([r["interval_coverage"] for r in rs]),
                         "oracle_spearman": _mean_sd([r["oracle_spearman"] for r in rs]),
                         "oracle_spearman_min5": _mean_sd([r["oracle_spearman_5"] for r in rs]),
                         "oracle_ece": _mean_sd([r["oracle_ece"] for r in rs]),
                         "oracle_accuracy": _mean_sd([r["oracle_accuracy"] for r in rs]),
                         "_conf": conf, "_correct": correct})
    if plot is not None:
        reliability_diagram(rows, plot)
    if as_json:
        return [json.dumps({k: v for k, v in r.items() if not k.startswith("_")}) for r in rows]

    def ms(d):
        return "n/a" if d is None else f"{d['mean']:.3f} ± {d['sd']:.3f}"

    out = [f"### Sparse regime: k random judgments per item, {seeds} seeds (mean ± sd)", "",
           "expertloop = BayesianDawidSkene (the platform's consensus); 0.1 = gold-clamped Dawid-Skene with "
           "`diagonal_prior=0.5`; ECE of the consensus (posterior of the chosen label vs correctness, 10 bins): "
           "pooled over every replay's items (the headline: a replay of a small set has too few items for its "
           "own ECE to be told from sampling noise) and per replay, next to the per-replay floor (the ECE a "
           "perfectly calibrated consensus with the same confidences shows on as many items); "
           "Spearman of its trainer reliabilities with the trainers' true accuracy (all trainers in the replay / "
           "those with >= 5 judgments on items with overlap); coverage of the 95% reliability interval.", "",
           "| set | k | majority vote | crowd-kit DS | expertloop | 0.1 consensus | ECE pooled | ECE per replay "
           "| ECE floor per replay | Spearman (all / >= 5) | interval coverage |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        sp5 = r["spearman_min5"]
        out.append(f"| {r['dataset']} | {r['k']} | {ms(r['majority_vote'])} | {ms(r['crowdkit_ds'])} | "
                   f"{ms(r['expertloop'])} | {ms(r['expertloop_0_1'])} | **{r['ece_pooled']:.3f}** | "
                   f"{ms(r['ece'])} | {ms(r['ece_floor'])} | "
                   f"{r['spearman']['mean'] if r['spearman'] else float('nan'):.2f} / "
                   f"{sp5['mean'] if sp5 else float('nan'):.2f} | "
                   f"{r['interval_coverage']['mean'] if r['interval_coverage'] else float('nan'):.2f} |")
    out += ["", "Oracle bounds (truth used; no method can do better at this k): Spearman of each trainer's "
            "accuracy on the sampled judgments scored against the truth with their true accuracy (all their "
            "judgments in the full set vs truth), all trainers / those with >= 5 sampled judgments on items "
            "with truth; Dawid-Skene posterior with every trainer's true confusion matrix and the true class "
            "shares: its accuracy and ECE. ECE floor: the ECE that a perfectly calibrated consensus with "
            "expertloop's confidences shows on this many items (sampling noise alone); pooled ECE: over all "
            "seeds' items at once.", "",
            "| set | k | oracle Spearman (all / >= 5) | oracle-confusion DS accuracy | oracle-confusion DS ECE "
            "| ECE floor | expertloop pooled ECE |",
            "|---|---:|---:|---:|---:|---:|---:|"]

    def m2(d):
        return "nan" if d is None else f"{d['mean']:.2f}"

    for r in rows:
        out.append(f"| {r['dataset']} | {r['k']} | {m2(r['oracle_spearman'])} / {m2(r['oracle_spearman_min5'])} | "
                   f"{ms(r['oracle_accuracy'])} | {ms(r['oracle_ece'])} | {ms(r['ece_floor'])} | "
                   f"{r['ece_pooled']:.3f} |")
    return out


def reliability_diagram(rows: list[dict], path: Path) -> None:
    """Accuracy against confidence per data set (one line per k), pooled over seeds."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib not installed; no reliability diagram")
        return
    names = sorted({r["dataset"] for r in rows})
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 4.2), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--")
        for r in (r for r in rows if r["dataset"] == name):
            n, mean_conf, acc = calibration_bins(r["_conf"], r["_correct"])
            keep = n >= 20
            ax.plot(mean_conf[keep], acc[keep], marker="o", label=f"k={r['k']} (ECE {r['ece_pooled']:.3f})")
        ax.set(title=name, xlabel="posterior of the consensus label", ylabel="share correct", xlim=(0, 1),
               ylim=(0, 1))
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle("expertloop consensus (BayesianDawidSkene): reliability diagram, bins with >= 20 items")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    log(f"reliability diagram written to {path}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA,
                   help="folder of data sets (or one data set) with answer.csv and truth.csv")
    p.add_argument("--skip-large", action="store_true", help="skip the 1M-label, BT and alpha timings")
    p.add_argument("--iters", default="10,100", help="EM iteration counts for the 1M-label comparison")
    p.add_argument("--timeout", type=float, default=900, help="seconds allowed per fit on the large set")
    p.add_argument("--crowdkit-all", action="store_true",
                   help="also run crowd-kit GLAD/MACE and one-coin at every iteration count on 1M labels")
    p.add_argument("--bt-seeds", type=int, default=5, help="simulated data sets for Bradley-Terry")
    p.add_argument("--no-crowdkit", action="store_true", help="run expertloop's side only")
    p.add_argument("--sparse", action="store_true",
                   help="replay the data sets at k = 1, 2, 3, 5 random judgments per item instead")
    p.add_argument("--seeds", type=int, default=20, help="replays per data set and k (--sparse)")
    p.add_argument("--processes", type=int, default=2, help="processes for the replays (--sparse)")
    p.add_argument("--json", action="store_true", help="--sparse: one JSON object per data set and k")
    p.add_argument("--plot", type=Path, default=None, help="--sparse: write a reliability diagram (PNG) here")
    p.add_argument("--_worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args._worker:
        print(json.dumps(worker(json.loads(args._worker))))
        return 0
    ck = None if args.no_crowdkit else crowdkit_or_none()
    if args.sparse:
        sets = find_sets(args.data) if args.data.exists() else []
        if not sets:
            log(f"no data sets under {args.data}")
            return 1
        lines = run_sparse(sets, ck, args.seeds, args.processes, args.plot, args.json)
        if not args.json:
            print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; numpy {np.__version__}\n")
        print("\n".join(lines), flush=True)
        return 0
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; numpy {np.__version__}")
    if ck is not None:
        import crowdkit
        print(f"crowd-kit {getattr(crowdkit, '__version__', '?')}")
    print()
    sets = find_sets(args.data) if args.data.exists() else []
    if sets:
        print("\n".join(run_accuracy(sets, ck)), end="\n\n", flush=True)
    else:
        log(f"no data sets under {args.data}; accuracy part skipped")
    if not args.skip_large:
        iters = [int(x) for x in args.iters.split(",") if x]
        print("\n".join(run_large(ck, iters, args.timeout, args.crowdkit_all)), end="\n\n", flush=True)
        print("\n".join(run_bt(ck, args.bt_seeds)), end="\n\n", flush=True)
        print("\n".join(run_alpha()), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
