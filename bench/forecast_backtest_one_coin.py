#!/usr/bin/env python
"""Back-test of ``expertloop forecast``: forecast from the first 20 % of a crowd set, compare
with what the rest actually took.

Per data set and seed: 20 % of the items (at random) are the pilot, with all their judgments;
the platform's consensus (``BayesianDawidSkene``) fitted on them gives each trainer's
reliability and their share of the work. ``quality.forecast.forecast_adaptive`` then forecasts
how many judgments the other 80 % need to reach the target accuracy under adaptive overlap
(one to ``--max-overlap`` judgments per item). The *actual* figure replays the real judgments of
those items in a random order with the same rule -- stop an item once the posterior of its
leading answer (one-coin model, the pilot's reliabilities; trainers unseen in the pilot get
the pilot's mean) reaches a confidence, the smallest confidence on the same grid whose
accuracy *against the truth* reaches the target -- and counts the judgments it bought. The
crowd sets have no times or rates, so the back-test is in judgments (hours and dollars are
judgments times per-trainer seconds and rates in the product).

    python bench/forecast_backtest_one_coin.py --data ../shared/data/crowd [--seeds 5] [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from expertloop.quality import BayesianDawidSkene  # noqa: E402
from expertloop.quality.forecast import _GRID, forecast_adaptive  # noqa: E402

TARGETS = {"dog": 0.78, "duck": 0.70, "product": 0.90}


def read_set(folder: Path):
    with open(folder / "answer.csv", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    with open(folder / "truth.csv", newline="") as fh:
        truth = {q: t for q, t in list(csv.reader(fh))[1:]}
    return [r for r in rows if r[0] in truth], truth


def actual(rows_by_item, truth, rel, classes, target, max_overlap, rng):
    """Judgments the real replay needs to reach the target, and the accuracy it got."""
    k = len(classes)
    mean_rel = float(np.mean(list(rel.values())))
    orders = {q: [rows[i] for i in rng.permutation(len(rows))][:max_overlap] for q, rows in rows_by_item.items()}
    for stop in _GRID:
        bought, right = 0, 0.0
        for q, rows in orders.items():
            logp = np.zeros(k)
            used = 0
            for worker, answer in rows:
                used += 1
                r = min(max(rel.get(worker, mean_rel), 1e-3), 1 - 1e-3)
                logp += np.where(np.arange(k) == classes.index(answer), np.log(r), np.log((1 - r) / (k - 1)))
                post = np.exp(logp - logp.max())
                post /= post.sum()
                if post.max() >= stop:
                    break
            bought += used
            top = np.flatnonzero(post == post.max())
            right += float(np.mean([classes[t] == truth[q] for t in top]))
        acc = right / len(orders)
        if acc >= target:
            return bought, acc, stop
    return bought, acc, stop


def run(folder: Path, seeds: int, max_overlap: int) -> dict:
    rows, truth = read_set(folder)
    target = TARGETS.get(folder.name, 0.8)
    classes = sorted({r[2] for r in rows} | set(truth.values()))
    items = sorted({r[0] for r in rows})
    out = []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        pilot = set(rng.permutation(items)[: len(items) // 5].tolist())
        p_rows = [r for r in rows if r[0] in pilot]
        model = BayesianDawidSkene().fit([r[0] for r in p_rows], [r[1] for r in p_rows], [r[2] for r in p_rows])
        rel = {str(t): float(x) for t, x in zip(model.trainer_ids_, model.reliability_, strict=True)}
        share = {t: 0 for t in rel}
        for r in p_rows:
            share[r[1]] += 1
        trainers = list(rel)
        rest = {}
        for r in rows:
            if r[0] not in pilot:
                rest.setdefault(r[0], []).append((r[1], r[2]))
        f = forecast_adaptive([rel[t] for t in trainers], [share[t] for t in trainers], [1] * len(trainers),
                              [0] * len(trainers), n_items=len(rest), n_classes=len(classes),
                              target_accuracy=target, min_overlap=1, max_overlap=max_overlap, random_state=seed)
        bought, acc, stop = actual(rest, truth, rel, classes, target, max_overlap, rng)
        out.append({"forecast": f.judgments, "forecast_stop": f.stop_confidence, "actual": bought,
                    "actual_accuracy": acc, "actual_stop": stop, "items": len(rest)})
    errors = [(o["forecast"][1] - o["actual"]) / o["actual"] for o in out]
    inside = [o["forecast"][0] <= o["actual"] <= o["forecast"][2] for o in out]
    return {"dataset": folder.name, "target_accuracy": target, "seeds": seeds, "items_forecast": out[0]["items"],
            "forecast_median": round(float(np.mean([o["forecast"][1] for o in out])), 1),
            "actual": round(float(np.mean([o["actual"] for o in out])), 1),
            "mean_relative_error": round(float(np.mean(errors)), 4),
            "mean_abs_relative_error": round(float(np.mean(np.abs(errors))), 4),
            "actual_inside_interval": int(sum(inside)), "runs": out}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=HERE.parents[1] / "shared/data/crowd")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--max-overlap", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    folders = sorted(p for p in args.data.iterdir() if (p / "truth.csv").exists())
    if not folders:
        sys.exit(f"{args.data}: no answer.csv/truth.csv sets")
    print("| set | target accuracy | items forecast | forecast judgments (median) | actual judgments | "
          "mean error | mean abs error | actual inside the 5-95% interval |") if not args.json else None
    print("|---|---:|---:|---:|---:|---:|---:|---:|") if not args.json else None
    for folder in folders:
        r = run(folder, args.seeds, args.max_overlap)
        if args.json:
            print(json.dumps(r))
        else:
            print(f"| {r['dataset']} | {r['target_accuracy']} | {r['items_forecast']} | {r['forecast_median']} | "
                  f"{r['actual']} | {r['mean_relative_error']:+.1%} | {r['mean_abs_relative_error']:.1%} | "
                  f"{r['actual_inside_interval']} of {r['seeds']} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
