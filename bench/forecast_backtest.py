"""Back-test of the forecast (``expertloop.quality.forecast``) on real crowd sets.

For each set (folders with ``answer.csv`` = question,worker,answer and ``truth.csv``):

1. shuffle the items (seeded); the first 20% and all their judgments are the **pilot**;
2. fit the platform's consensus (Bayesian Dawid-Skene) on the pilot alone: each pilot trainer's
   confusion, its evidence, their share of the pilot's judgments, the class prior;
3. **actual**: replay adaptive overlap on the other 80% with the judgments the set really has
   (in a seeded random order per item): an item takes judgments one at a time until its
   posterior, from the consensus fitted on the whole set, reaches ``--confidence`` or it has
   ``--max`` judgments (or the set has no more for it). Its accuracy against the truth and the
   judgments it took are what the rest actually took;
4. **forecast**, from the pilot alone: judgments needed to reach that same accuracy on that many
   items with adaptive overlap, with the 90% interval;
5. relative error = (forecast - actual) / actual.

Crowd sets record no time, so expert-hours are judgments x ``--seconds`` (default 60 s) and scale
with judgments exactly: the judgments' error is the hours' error.

    python bench/forecast_backtest.py [--data /work/shared/data/crowd] [--draws 200] [--seed 0]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

from expertloop.quality import BayesianDawidSkene
from expertloop.quality.forecast import TrainerPool, forecast

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared/data/crowd"
if not DEFAULT_DATA.exists():
    DEFAULT_DATA = Path("/work/shared/data/crowd")


def read_set(folder: Path):
    def rows(path: Path):
        with open(path, newline="") as fh:
            return list(csv.reader(fh))[1:]

    ans = np.array(rows(folder / "answer.csv"), dtype=object)
    truth = {q: t for q, t in rows(folder / "truth.csv")}
    return ans[:, 0].astype(str), ans[:, 1].astype(str), ans[:, 2].astype(str), truth


def backtest(folder: Path, *, rho: float, pilot_share: float, max_judgments: int, confidence: float, draws: int,
             seed: int, seconds: float) -> dict:
    items, workers, labels, truth = read_set(folder)
    rng = np.random.default_rng(seed)
    uniq = np.array(sorted(set(items.tolist())))
    rng.shuffle(uniq)
    n_pilot = round(pilot_share * len(uniq))
    pilot_items = set(uniq[:n_pilot].tolist())
    in_pilot = np.array([q in pilot_items for q in items])

    full = BayesianDawidSkene().fit(items, workers, labels)
    classes = [str(c) for c in full.classes_]
    cls_index = {c: i for i, c in enumerate(classes)}
    trow = {str(t): i for i, t in enumerate(full.trainer_ids_)}
    log_prior = np.log(np.maximum(np.asarray(full.class_prior_, dtype=float), 1e-12))
    log_conf = np.log(np.maximum(np.asarray(full.confusions_, dtype=float), 1e-12))

    # actual: adaptive overlap replayed on the rest with the set's own judgments
    order = rng.permutation(len(items))
    by_item: dict[str, list[int]] = {}
    for j in order:
        if not in_pilot[j]:
            by_item.setdefault(items[j], []).append(j)
    def replay(threshold: float) -> tuple[float, int]:
        taken = correct = scored = 0
        for q, js in by_item.items():
            logpost = log_prior.copy()
            n = 0
            for j in js[:max_judgments]:
                logpost = logpost + log_conf[trow[workers[j]], :, cls_index[labels[j]]]
                n += 1
                post = np.exp(logpost - logpost.max())
                if post.max() / post.sum() >= threshold:
                    break
            taken += n
            if q in truth:
                scored += 1
                correct += classes[int(np.argmax(logpost))] == truth[q]
        return correct / max(scored, 1), taken

    actual_acc, taken = replay(confidence)
    # the cheapest threshold that reaches the same accuracy on the real judgments (known only with
    # the truth in hand): what the forecast's own choice of threshold is up against
    best = taken
    for th in np.linspace(0.5, confidence, 46):
        acc_th, taken_th = replay(float(th))
        if acc_th >= actual_acc - 1e-12:
            best = min(best, taken_th)

    # forecast from the pilot alone
    pilot = BayesianDawidSkene().fit(items[in_pilot], workers[in_pilot], labels[in_pilot])
    pw = [str(t) for t in pilot.trainer_ids_]
    share = np.array([np.sum(workers[in_pilot] == t) for t in pw], dtype=float)
    k_pilot = len(pilot.classes_)
    pool = TrainerPool(confusions=np.asarray(pilot.confusions_, dtype=float), share=share,
                       seconds=np.full(len(pw), seconds), rate_cents=np.zeros(len(pw)),
                       evidence=np.asarray(pilot.n_evidence_, dtype=float))
    avail = np.array([min(len(js), max_judgments) for js in by_item.values()])
    # items cannot take more judgments than the set holds for them: forecast with the typical cap
    cap = int(max(1, min(max_judgments, int(np.median(avail)))))
    t0 = time.perf_counter()
    f = forecast(pool, pilot.class_prior_, len(by_item), ("accuracy", min(actual_acc, 0.9999)),
                 max_judgments=cap, n_draws=draws, random_state=seed, error_correlation=rho)
    elapsed = time.perf_counter() - t0
    return {"set": folder.name, "items": len(uniq), "pilot_items": n_pilot, "rest": len(by_item),
            "pilot_trainers": len(pw), "classes": k_pilot, "cap": cap,
            "actual_accuracy": actual_acc, "actual_judgments": taken, "best_judgments": best,
            "forecast": f, "seconds": elapsed, "hours_per_judgment": seconds / 3600}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--pilot", type=float, default=0.2)
    ap.add_argument("--max", type=int, default=5, dest="max_judgments")
    ap.add_argument("--confidence", type=float, default=0.95)
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--rho", type=float, default=0.2, help="error correlation the forecast assumes")
    args = ap.parse_args(argv)
    sets = sorted(p for p in args.data.iterdir() if (p / "answer.csv").exists() and (p / "truth.csv").exists())
    if not sets:
        print(f"no crowd sets under {args.data}", file=sys.stderr)
        return 1
    lines = ["| set | rest (items) | pilot trainers | accuracy reached | forecast judgments [90%] | "
             "actual judgments | relative error | actual, cheapest threshold | relative error | "
             "forecast hours [90%] | actual hours |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for folder in sets:
        r = backtest(folder, rho=args.rho, pilot_share=args.pilot, max_judgments=args.max_judgments,
                     confidence=args.confidence, draws=args.draws, seed=args.seed, seconds=args.seconds)
        f = r["forecast"]
        mean, lo, hi = f.judgments
        err = (mean - r["actual_judgments"]) / r["actual_judgments"]
        err_best = (mean - r["best_judgments"]) / r["best_judgments"]
        h = r["hours_per_judgment"]
        lines.append(f"| {r['set']} | {r['rest']} | {r['pilot_trainers']} | {r['actual_accuracy']:.3f} | "
                     f"{mean:,.0f} [{lo:,.0f}–{hi:,.0f}] | {r['actual_judgments']:,} | {err:+.1%} | "
                     f"{r['best_judgments']:,} | {err_best:+.1%} | "
                     f"{mean * h:,.1f} [{lo * h:,.1f}–{hi * h:,.1f}] | {r['actual_judgments'] * h:,.1f} |")
        print(f"{r['set']}: done in {r['seconds']:.1f}s (cap {r['cap']}, forecast accuracy "
              f"{f.accuracy[0]:.3f}, reachable in {f.reach_probability:.0%} of draws)", file=sys.stderr)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
