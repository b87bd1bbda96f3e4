"""Convert the shared multi-annotator text sets into the layout bench/data_value.py reads.

Each set becomes a folder with ``items.csv`` (``question,text``) and ``answer.csv``
(``question,worker,answer``). None of these sets has a ground truth beyond its judgments, so
no ``truth.csv`` is written: the benchmark scores held-out items against the majority of their
own judgments.

    python bench/convert_text_sets.py                       # all four, into bench/out/text-sets/
    python bench/convert_text_sets.py --out DIR --sets convabuse,pandalm
    python bench/convert_text_sets.py --src ../shared/data  # where the raw sets live

Choices (also in bench/README.md):

* ConvAbuse (``convabuse/1_full``): an item is one user turn in its context (conversation id,
  previous agent and user turns, agent turn, user turn); its text is that context. The
  5-point scale is collapsed to *abusive* (mildly, strongly or very strongly abusive) vs
  *not* (not abusive or ambiguous). The full file repeats some annotators on some items (the
  authors' intra-annotator check); only an annotator's first judgment of an item is kept.
* XSum hallucination (``factuality_annotations_xsum_summaries.csv``): an item is one system's
  summary of one article (``bbcid`` + ``system``), its text the summary, the answer
  ``is_factual`` (yes/no; the 33 ``NULL`` judgments are dropped). The worker ids ``wid_0..2``
  are slots, not people; each slot is kept as one worker (``--xsum-workers slot``, the
  default), so the consensus sees three "workers" of averaged reliability;
  ``--xsum-workers judgment`` gives every judgment its own worker instead.
* PandaLM (``testset-v1.json``): an item is one response pair, its text instruction + input +
  both responses (marked), the answer the annotator's preference (0 tie, 1, 2); annotator
  columns 1..3 are taken as three workers.
* WMT23 MQM zh-en: an item is one system's translation of one segment (``system`` +
  ``globalSegId``), its text source + translation. Each rater's error rows on the segment
  are scored with the MQM weights of Freitag et al. 2021 (Major 5, Non-translation 25, Minor
  1, Minor Fluency/Punctuation 0.1; Source issue rows 0: they fault the source, not the
  translation) and the score gives that rater's class: ``none`` below 1 (no error, or
  punctuation only), ``minor`` below 5, ``major`` from 5 (a major error, or five minor ones).
  ``--wmt-labels worst`` gives the earlier class instead: ``major`` if any Major error, else
  ``minor`` if any Minor error, else ``none``. Attention-check rows (``HOTW-test``) are
  dropped; a rater left with no rows on a segment gives no judgment there.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
import tarfile
from collections.abc import Iterable
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _default_src() -> Path:
    """``shared/data`` next to the repository, or next to any folder above it."""
    for parent in HERE.parents[1:]:
        if (parent / "shared" / "data").is_dir():
            return parent / "shared" / "data"
    return HERE.parents[1] / "shared" / "data"


DEFAULT_SRC = _default_src()
DEFAULT_OUT = HERE / "out" / "text-sets"
SETS = ("convabuse", "xsum", "pandalm", "wmt23")


def _write(out: Path, items: dict[str, str], answers: Iterable[tuple[str, str, str]]) -> tuple[int, int]:
    out.mkdir(parents=True, exist_ok=True)
    answers = list(answers)
    used = {q for q, _, _ in answers}
    with open(out / "items.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["question", "text"])
        for q, text in items.items():
            if q in used:
                w.writerow([q, text])
    with open(out / "answer.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["question", "worker", "answer"])
        w.writerows(answers)
    return len(used), len(answers)


def convert_convabuse(src: Path, out: Path) -> tuple[int, int]:
    path = src / "convabuse" / "1_full" / "ConvAbuseEMNLPfull.csv"
    items: dict[str, str] = {}
    ids: dict[tuple[str, ...], str] = {}
    answers: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    with open(path, newline="", encoding="utf-8") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: int(r["example_no"]))
    for r in rows:
        context = (r["conv_id"], r["prev_agent"], r["prev_user"], r["agent"], r["user"])
        q = ids.setdefault(context, f"c{len(ids)}")
        items[q] = (f"agent: {r['prev_agent']} user: {r['prev_user']} "
                    f"agent: {r['agent']} user: {r['user']}")
        if (q, r["annotator_id"]) in seen:
            continue                      # repeat annotation (intra-annotator check)
        scale = [s for s in ("1", "0", "-1", "-2", "-3") if r[f"is_abuse.{s}"] == "1"]
        if len(scale) != 1:
            raise ValueError(f"{path}: example_no {r['example_no']} has {len(scale)} abuse levels marked")
        seen.add((q, r["annotator_id"]))
        answers.append((q, r["annotator_id"], "abusive" if scale[0].startswith("-") else "not"))
    return _write(out, items, answers)


def convert_xsum(src: Path, out: Path, workers: str = "slot") -> tuple[int, int]:
    path = src / "xsum-hallucination" / "factuality_annotations_xsum_summaries.csv"
    items: dict[str, str] = {}
    answers: list[tuple[str, str, str]] = []
    with open(path, newline="", encoding="utf-8") as f:
        for n, r in enumerate(csv.DictReader(f)):
            q = f"{r['bbcid']}:{r['system']}"
            items[q] = r["summary"]
            answer = r["is_factual"].strip().lower()
            if answer == "null":
                continue                  # not judged (e.g. summaries not in English)
            if answer not in ("yes", "no"):
                raise ValueError(f"{path}: row {n + 2} has is_factual={r['is_factual']!r}")
            worker = r["worker_id"] if workers == "slot" else f"j{n}"
            answers.append((q, worker, answer))
    return _write(out, items, answers)


def convert_pandalm(src: Path, out: Path) -> tuple[int, int]:
    path = src / "pandalm" / "testset-v1.json"
    items: dict[str, str] = {}
    answers: list[tuple[str, str, str]] = []
    for r in json.loads(path.read_text(encoding="utf-8")):
        q = f"p{r['idx']}"
        items[q] = (f"instruction: {r['instruction']} input: {r['input']} "
                    f"response1: {r['response1']} response2: {r['response2']}")
        for a in ("annotator1", "annotator2", "annotator3"):
            if r.get(a) is not None:
                answers.append((q, a, str(r[a])))
    return _write(out, items, answers)


_MARK = re.compile(r"</?v>")


# MQM error weights of Freitag et al. 2021 ("Experts, errors, and context", TACL 9), the scoring
# the WMT MQM releases use: Major 5 (Non-translation 25), Minor 1 (Minor Fluency/Punctuation 0.1).
def _mqm_weight(severity: str, category: str) -> float:
    if category.startswith("Source issue"):
        return 0.0                     # a problem of the source text, not of the translation
    if category.startswith("Non-translation"):
        return 25.0
    if severity == "major":
        return 5.0
    if severity == "minor":
        return 0.1 if category == "Fluency/Punctuation" else 1.0
    return 0.0                         # No-error, Neutral


def convert_wmt23(src: Path, out: Path, labels: str = "mqm") -> tuple[int, int]:
    archive = next((src / "wmt23-mqm-zhen").glob("*.tsv.tar.gz"))
    with tarfile.open(archive) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith(".tsv"))
        raw = tar.extractfile(member)
        assert raw is not None
        text = io.TextIOWrapper(raw, encoding="utf-8")
        rows = list(csv.DictReader(text, delimiter="\t", quoting=csv.QUOTE_NONE))
    items: dict[str, str] = {}
    worst: dict[tuple[str, str], float] = {}   # (segment, rater) -> worst level, or MQM score
    for r in rows:
        if r["severity"] == "HOTW-test":
            continue
        q = f"{r['system']}:{r['globalSegId']}"
        items.setdefault(q, f"source: {_MARK.sub('', r['source'])} translation: {_MARK.sub('', r['target'])}")
        sev = r["severity"].strip().lower()
        key = (q, r["rater"])
        if labels == "mqm":
            worst[key] = worst.get(key, 0.0) + _mqm_weight(sev, r["category"])
        else:
            level = 2 if sev == "major" or r["category"].startswith("Non-translation") else 1 if sev == "minor" else 0
            worst[key] = max(worst.get(key, 0), level)

    def name(v: float) -> str:
        if labels == "mqm":
            return "none" if v < 1.0 else "minor" if v < 5.0 else "major"
        return ("none", "minor", "major")[int(v)]

    return _write(out, items, ((q, rater, name(v)) for (q, rater), v in sorted(worst.items())))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", type=Path, default=DEFAULT_SRC, help="folder holding the raw sets")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder to write one sub-folder per set into")
    ap.add_argument("--sets", default=",".join(SETS), help=f"comma-separated subset of {','.join(SETS)}")
    ap.add_argument("--xsum-workers", choices=("slot", "judgment"), default="slot")
    ap.add_argument("--wmt-labels", choices=("mqm", "worst"), default="mqm",
                    help="WMT23 class per rater: from the MQM score (default) or the worst severity marked")
    args = ap.parse_args(argv)
    wanted = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in SETS]
    if unknown:
        ap.error(f"unknown set(s) {', '.join(unknown)}; choose from {', '.join(SETS)}")
    for name in wanted:
        out = args.out / name
        try:
            if name == "convabuse":
                n_items, n_answers = convert_convabuse(args.src, out)
            elif name == "xsum":
                n_items, n_answers = convert_xsum(args.src, out, args.xsum_workers)
            elif name == "pandalm":
                n_items, n_answers = convert_pandalm(args.src, out)
            else:
                n_items, n_answers = convert_wmt23(args.src, out, args.wmt_labels)
        except FileNotFoundError as e:
            print(f"{name}: source file missing: {e.filename}", file=sys.stderr)
            return 1
        except StopIteration:
            print(f"{name}: no .tsv.tar.gz / .tsv found under {args.src / 'wmt23-mqm-zhen'}", file=sys.stderr)
            return 1
        print(f"{name}: {n_items} items, {n_answers} judgments -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
