"""A dataset's passport: an export written with a signed manifest, a Hugging Face Hub folder,
the signed revocation list of withdrawn work, and the check of all three.

``export_dataset`` writes the records (``data.jsonl`` / ``data.parquet``, or with ``hub=True``
``data/train.parquet`` and ``data/test.parquet`` plus a ``README.md`` dataset card) and a
``manifest.json`` saying what the files are and how they were made: counts, the SHA-256 and
size of each file, the guideline and terms versions in the data with the current texts, the
consent standing, the review and authenticity shares, the software version and the query —
signed with the instance's Ed25519 key (:mod:`.signing`).

``verify`` needs no database: it checks the manifest's signature and every file's hash and
names exactly what fails. Given a revocation list (:func:`revocation_list`, signed the same
way) it names the records a holder must drop because their author withdrew consent.

The train/test split is by item (all records of an item fall on one side) and deterministic:
an item is in the test split when the SHA-256 of ``"<seed>:<item id>"`` read as a fraction of
2**256 is below ``test_share``.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import __version__
from ..domain.assignments import DONE_STATES
from ..domain.errors import ValidationFailed
from ..domain.policies import Actor, require_staff
from ..domain.records import ExportFormat
from ..storage.orm import Assignment, Consent, Item, Project
from . import audit as audit_log
from . import uow
from .authenticity import thresholds as authenticity_thresholds
from .clock import utcnow
from .exports import _parquet_row, iter_records
from .projects import load_project
from .signing import Signer, check_signature
from .uow import reads
from .views import iso

MANIFEST = "manifest.json"
MANIFEST_KIND = "expertloop.dataset-manifest"
REVOCATIONS_KIND = "expertloop.revocations"
FILE_FORMATS = ("jsonl", "parquet")
HUB_TASK_CATEGORIES = {"sft": "text-generation", "preference": "text-generation", "ranking": "text-generation",
                       "label": "text-classification", "factcheck": "text-classification"}


@dataclass
class Tally:
    """Figures gathered from the records as they are written."""

    records: int = 0
    splits: Counter[str] = field(default_factory=Counter)
    items: set[int] = field(default_factory=set)
    experts: set[str] = field(default_factory=set)
    gold: set[int] = field(default_factory=set)
    review: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    judgments: int = 0
    human: int = 0
    terms: Counter[str] = field(default_factory=Counter)
    guidelines: Counter[str] = field(default_factory=Counter)

    def add(self, record: dict, split: str) -> None:
        self.records += 1
        self.splits[split] += 1
        meta = record.get("metadata") or {}
        if meta.get("item_id") is not None:
            self.items.add(meta["item_id"])
            if meta.get("is_gold"):
                self.gold.add(meta["item_id"])
        for expert in ([meta["expert"]] if meta.get("expert") else []) + list(meta.get("experts") or []):
            self.experts.add(expert)
        if meta.get("review"):
            self.review[meta["review"]] += 1
        for state, n in (meta.get("reviews") or {}).items():
            self.review[state] += n
        auth = meta.get("authenticity") or {}
        if "outcomes" in auth:  # a consensus record: its judgments
            self.judgments += auth.get("judgments", 0)
            self.human += auth.get("human_authenticated", 0)
            for outcome, n in auth["outcomes"].items():
                self.outcomes[outcome] += n
        elif auth:
            self.judgments += 1
            self.human += bool(auth.get("human_authenticated"))
            self.outcomes[auth.get("outcome", "unknown")] += 1
        for v in meta.get("terms_versions") or [meta.get("terms_version")]:
            self.terms["none" if v is None else str(v)] += 1
        self.guidelines[str(meta.get("guidelines_version"))] += 1


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def in_test(seed: int, item_id: object, test_share: float) -> bool:
    digest = hashlib.sha256(f"{seed}:{item_id}".encode()).digest()
    return int.from_bytes(digest, "big") / 2**256 < test_share


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@reads
def _facts(session: Session, project_id: int) -> dict:
    """The project's texts and consent standing, for the manifest."""
    p: Project = load_project(session, project_id)
    consents = session.execute(select(Consent.expert_id, Consent.withdrawn_at).where(
        Consent.project_id == project_id)).all()
    withdrawn_experts = {e for e, w in consents if w is not None}
    in_force = {e for e, w in consents if w is None} - withdrawn_experts
    revoked = session.execute(select(func.count()).select_from(Assignment).join(
        Consent, Consent.id == Assignment.consent_id).where(
        Assignment.project_id == project_id, Consent.withdrawn_at.is_not(None),
        Assignment.state.in_([s.value for s in DONE_STATES]))).scalar_one()
    return {"project": {"id": p.id, "name": p.name, "task_type": p.task_type},
            "guidelines": {"current_version": p.guidelines_version, "text": p.guidelines},
            "terms": {"current_version": p.terms_version or 0, "text": p.terms},
            "consent": {"experts_with_consent_in_force": len(in_force), "experts_withdrawn": len(withdrawn_experts),
                        "judgments_withdrawn_and_left_out": revoked}}


def check_options(*, file_format: str, hub: bool, test_share: float, seed: int, license: str) -> str:
    """Refuse a bad option of a signed export, naming it; the file format to write."""
    if hub:
        file_format = "parquet"
    if file_format not in FILE_FORMATS:
        raise ValidationFailed(f"must be one of {', '.join(FILE_FORMATS)}", loc="file_format")
    if isinstance(test_share, bool) or not isinstance(test_share, (int, float)) or not 0 <= test_share < 1:
        raise ValidationFailed("must be a share from 0 up to (not including) 1", loc="test_share")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise ValidationFailed("must be a non-negative whole number", loc="seed")
    if not isinstance(license, str) or not 0 < len(license) <= 100 or not license.replace("-", "").replace(
            ".", "").isalnum():
        raise ValidationFailed("must be a licence identifier such as cc-by-4.0 or other", loc="license")
    return file_format


def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ValidationFailed(f"{out_dir} exists and is not an empty directory", loc="output")


class _Writer:
    """Writes records to one file per split, JSONL streamed or Parquet with one schema for all."""

    def __init__(self, root: Path, names: dict[str, str], file_format: str, fmt: ExportFormat):
        self.root, self.names, self.file_format = root, names, file_format
        self.counts: Counter[str] = Counter()
        self._handles: dict[str, Any] = {}
        self._rows: list[tuple[str, dict]] = []
        self._to_row = _parquet_row(fmt)
        self.schema: Any = None

    def add(self, split: str, record: dict) -> None:
        self.counts[split] += 1
        if self.file_format == "parquet":
            self._rows.append((split, self._to_row(record)))
            return
        if split not in self._handles:
            path = self.root / self.names[split]
            path.parent.mkdir(parents=True, exist_ok=True)
            self._handles[split] = path.open("wb")
        self._handles[split].write((json.dumps(record, ensure_ascii=False) + "\n").encode())

    def close(self) -> list[str]:
        """Finish the files; the names written, in split order."""
        if self.file_format == "jsonl":
            for h in self._handles.values():
                h.close()
            for split, name in self.names.items():  # an empty split still gets its (empty) file
                if split not in self._handles and (split == "all" or self.counts[split]):
                    (self.root / name).parent.mkdir(parents=True, exist_ok=True)
                    (self.root / name).touch()
            return [n for s, n in self.names.items() if (self.root / n).exists()]
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows = [r for _, r in self._rows]
        table = pa.Table.from_pylist(rows) if rows else pa.table({})
        self.schema = table.schema
        written = []
        for split, name in self.names.items():
            mask = pa.array([s == split for s, _ in self._rows], type=pa.bool_())
            part = table.filter(mask) if rows else table
            if split != "all" and part.num_rows == 0:
                continue
            path = self.root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(part, path)
            written.append(name)
        return written


def export_dataset(session: Session, actor: Actor, project_id: int, fmt: ExportFormat | str, out_dir: Path, *,
                   file_format: str = "jsonl", consensus: bool = False, min_judgments: int | None = None,
                   min_confidence: float | None = None, hub: bool = False, test_share: float = 0.1,
                   seed: int = 0, license: str = "other", include_audit: bool = False,
                   settings: Any = None, now: datetime | None = None) -> dict:
    """Write the export into ``out_dir`` (new or empty) with its signed manifest; returns the
    manifest. ``hub=True`` writes the Hugging Face Hub folder (Parquet, train/test split,
    dataset card). ``include_audit`` adds the project's audit log as ``audit.jsonl`` (oldest
    first). The export is then recorded in the audit log (``export.made``) with the manifest's
    hash."""
    require_staff(actor, "export data")
    file_format = check_options(file_format=file_format, hub=hub, test_share=test_share, seed=seed, license=license)
    out_dir = Path(out_dir)
    _check_out_dir(out_dir)
    signer = Signer.for_instance(session)  # the key is made on first use: before any read unit opens
    stream = iter_records(session, actor, project_id, fmt, consensus=consensus, min_judgments=min_judgments,
                          min_confidence=min_confidence)
    facts = _facts(session, project_id)
    audit = audit_entries(session, actor, project_id) if include_audit else None
    out_dir.mkdir(parents=True, exist_ok=True)
    ext = file_format
    names = ({"train": f"data/train.{ext}", "test": f"data/test.{ext}"} if hub else {"all": f"data.{ext}"})
    writer = _Writer(out_dir, names, file_format, stream.fmt)
    tally = Tally()
    for record in stream:
        split = "all"
        if hub:
            item_id = (record.get("metadata") or {}).get("item_id")
            split = "test" if in_test(seed, item_id, test_share) else "train"
        writer.add(split, record)
        tally.add(record, split)
    written = writer.close()
    files = []
    split_of = {v: k for k, v in names.items()}
    for name in written:
        path = out_dir / name
        files.append({"path": name, "sha256": sha256_file(path), "bytes": path.stat().st_size,
                      "records": writer.counts[split_of[name]], "format": file_format,
                      "split": None if split_of[name] == "all" else split_of[name]})
    if audit is not None:
        path = out_dir / "audit.jsonl"
        path.write_text("".join(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n" for e in audit),
                        encoding="utf-8")
        files.append({"path": "audit.jsonl", "sha256": sha256_file(path), "bytes": path.stat().st_size,
                      "records": len(audit), "format": "jsonl", "split": None, "role": "audit log"})
    review = {"accepted": tally.review["accepted"], "edited": tally.review["edited"],
              "unreviewed": tally.review["unreviewed"]}
    reviewed = review["accepted"] + review["edited"]
    th = authenticity_thresholds(settings) if settings is not None else None
    manifest: dict[str, Any] = {
        "kind": MANIFEST_KIND, "manifest_version": 1, "created_at": iso(now or utcnow()),
        "software": {"name": "expertloop", "version": __version__},
        "project": facts["project"],
        "query": {"command": "export", "project": project_id, "format": stream.fmt.value, "file_format": file_format,
                  "consensus": consensus, "min_judgments": min_judgments, "min_confidence": min_confidence,
                  "hub": {"test_share": test_share, "seed": seed, "split_by": "item", "license": license}
                  if hub else None, "include_audit": audit is not None},
        "files": files,
        "counts": {"records": tally.records, "unit": stream.unit, "left_out": dict(stream.left_out),
                   "items": len(tally.items), "experts": len(tally.experts), "gold_items": len(tally.gold),
                   "splits": {k: v for k, v in tally.splits.items() if k != "all"} or None},
        "guidelines": {**facts["guidelines"], "versions_in_data": dict(tally.guidelines)},
        "terms": {**facts["terms"], "versions_in_data": dict(tally.terms)},
        "consent": {**facts["consent"],
                    "statement": "every record was made under a consent in force when this export was written; "
                                 "work whose author withdrew is left out (see the revocation list for later "
                                 "withdrawals)"},
        "review": {**review, "reviewed_share": share(reviewed, reviewed + review["unreviewed"])},
        "authenticity": {"judgments": tally.judgments, "human_authenticated": tally.human,
                         "human_authenticated_share": share(tally.human, tally.judgments),
                         "outcomes": dict(tally.outcomes),
                         "thresholds": None if th is None else {"unkeyed_share": th.unkeyed_share,
                                                                "similarity": th.similarity,
                                                                "min_chars": th.min_chars}},
    }
    if hub:
        card = dataset_card(manifest, writer.schema, license)
        (out_dir / "README.md").write_text(card, encoding="utf-8")
        path = out_dir / "README.md"
        files.append({"path": "README.md", "sha256": sha256_file(path), "bytes": path.stat().st_size,
                      "records": None, "format": "markdown", "split": None, "role": "dataset card"})
    signed = signer.sign(manifest)
    text = json.dumps(signed, indent=2, ensure_ascii=False) + "\n"
    (out_dir / MANIFEST).write_text(text, encoding="utf-8")
    detail = {"format": stream.fmt.value, "file_format": file_format, "records": tally.records, "hub": hub,
              "consensus": consensus, "include_audit": include_audit,
              "manifest_sha256": hashlib.sha256(text.encode()).hexdigest(),
              "key": signer.info["fingerprint"]}
    uow.run_write(session, lambda: audit_log.record(session, actor, "export.made", project_id=project_id,
                                                    target=f"{stream.fmt.value} export with manifest",
                                                    detail=detail))
    return signed


def export_zip(session: Session, actor: Actor, project_id: int, fmt: ExportFormat | str, **options: Any) -> bytes:
    """:func:`export_dataset` into a temporary folder, returned as a ZIP archive's bytes."""
    import io
    import shutil
    import tempfile
    import zipfile

    tmp = Path(tempfile.mkdtemp(prefix="expertloop-export-"))
    try:
        folder = tmp / "dataset"
        export_dataset(session, actor, project_id, fmt, folder, **options)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    z.write(path, path.relative_to(folder).as_posix())
        return buffer.getvalue()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def audit_entries(session: Session, actor: Actor, project_id: int) -> list[dict]:
    """Every audit log entry of the project, oldest first."""
    entries: list[dict] = []
    before = None
    while True:
        page = audit_log.list_entries(session, actor, project_id=project_id, before=before,
                                      limit=audit_log.MAX_PAGE)
        entries.extend(page)
        if len(page) < audit_log.MAX_PAGE:
            return entries[::-1]
        before = page[-1]["id"]


# --- the Hugging Face dataset card ------------------------------------------------------------

def _feature(t: Any) -> dict:
    import pyarrow as pa

    if pa.types.is_struct(t):
        return {"struct": [{"name": f.name, **_feature(f.type)} for f in t]}
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        # datasets' own YAML shorthand: a list of a plain type or of a struct names it directly
        kind = "large_list" if pa.types.is_large_list(t) else "list"
        inner = _feature(t.value_type)
        return {kind: inner.get("dtype", inner.get("struct", inner)) if len(inner) == 1 else inner}
    names = {pa.string(): "string", pa.large_string(): "large_string", pa.int64(): "int64",
             pa.int32(): "int32", pa.float64(): "float64", pa.float32(): "float32", pa.bool_(): "bool",
             pa.null(): "null"}
    return {"dtype": names.get(t, str(t))}


def hub_features(schema: Any) -> list[dict]:
    """The ``dataset_info.features`` of a card, from the Parquet files' schema."""
    return [{"name": f.name, **_feature(f.type)} for f in schema]


def size_category(n: int) -> str:
    for bound, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                         (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")):
        if n < bound:
            return label
    return "10M<n<100M"


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.1%}"


def dataset_card(manifest: dict, schema: Any, license: str) -> str:
    import yaml

    counts, auth, review = manifest["counts"], manifest["authenticity"], manifest["review"]
    project, splits = manifest["project"], counts["splits"] or {}
    data_files = [{"split": s, "path": f"data/{s}.parquet"} for s in ("train", "test") if splits.get(s)]
    meta: dict[str, Any] = {
        "license": license, "pretty_name": project["name"], "size_categories": [size_category(counts["records"])],
        "tags": ["expertloop", "human-expert-written", project["task_type"]],
        "configs": [{"config_name": "default", "data_files": data_files}],
    }
    if project["task_type"] in HUB_TASK_CATEGORIES:
        meta["task_categories"] = [HUB_TASK_CATEGORIES[project["task_type"]]]
    if schema is not None and len(schema):
        meta["dataset_info"] = {"features": hub_features(schema)}
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    terms = manifest["terms"]
    lines = [
        "---", front.rstrip(), "---", "",
        f"# {project['name']}", "",
        "## Written by experts", "",
        f"Every record in this dataset was written or judged by vetted human experts working on expertloop "
        f"({project['task_type']} task): {counts['records']} records ({counts['unit']}) on {counts['items']} "
        f"items by {counts['experts']} experts, each under the project's guidelines "
        f"(version {manifest['guidelines']['current_version']}) and "
        + (f"terms of contribution they consented to (version {terms['current_version']})."
           if terms["current_version"] else "the project's consent register (the project has no written terms).")
        + "",
        "",
        "| figure | value |", "|---|---|",
        f"| records | {counts['records']} |",
        f"| train / test | {splits.get('train', 0)} / {splits.get('test', 0)} (split by item, seed "
        f"{manifest['query']['hub']['seed']}) |",
        f"| experts | {counts['experts']} |",
        f"| human-authenticated judgments | {auth['human_authenticated']} of {auth['judgments']} "
        f"({_pct(auth['human_authenticated_share'])}) |",
        f"| reviewed by a senior expert | {_pct(review['reviewed_share'])} |",
        f"| left out (filters) | {sum(counts['left_out'].values())} |",
        f"| left out (consent withdrawn) | {manifest['consent']['judgments_withdrawn_and_left_out']} |",
        "",
        "*Human-authenticated*: the expert's writing-process signals (counts of typed and pasted "
        "characters, time away from the tab — never keystrokes) were recorded and no authenticity flag "
        "stands against the work. Each record's `metadata.authenticity` carries its signals and outcome, "
        "`metadata.review` its review.",
        "",
        "## Provenance",
        "",
        "`manifest.json` lists every file with its SHA-256, the guideline and terms texts, the consent "
        "standing, the review and authenticity shares, the software version and the export query, signed "
        "with the publishing instance's Ed25519 key "
        "(`signing.fingerprint` in the manifest). Check it with `expertloop verify .`; check a newer "
        "revocation list with `expertloop verify . --revocations FILE` to learn which records to drop "
        "because their author withdrew consent.",
        "",
    ]
    return "\n".join(lines)


# --- revocations --------------------------------------------------------------------------------

@reads
def revoked_records(session: Session, actor: Actor, project_id: int) -> tuple[dict, list[dict]]:
    """(project, the withdrawn judgments): every judgment done under a consent since withdrawn."""
    require_staff(actor, "read revocations")
    p = load_project(session, project_id)
    q = (select(Assignment.id, Assignment.item_id, Item.external_id, Consent.withdrawn_at)
         .join(Consent, Consent.id == Assignment.consent_id).join(Item, Item.id == Assignment.item_id)
         .where(Assignment.project_id == project_id, Consent.withdrawn_at.is_not(None),
                Assignment.state.in_([s.value for s in DONE_STATES])).order_by(Assignment.id))
    rows = [{"assignment_id": a, "item_id": i, "item_external_id": ext, "withdrawn_at": iso(w)}
            for a, i, ext, w in session.execute(q)]
    return {"id": p.id, "name": p.name}, rows


def revocation_list(session: Session, actor: Actor, project_id: int, *, now: datetime | None = None) -> dict:
    """The signed list of a project's judgments whose author withdrew consent. It only grows:
    a withdrawal is never undone."""
    require_staff(actor, "read revocations")
    signer = Signer.for_instance(session)
    project, rows = revoked_records(session, actor, project_id)
    return signer.sign({"kind": REVOCATIONS_KIND, "version": 1, "created_at": iso(now or utcnow()),
                        "project": project, "count": len(rows), "records": rows})


# --- verification -------------------------------------------------------------------------------

@dataclass
class Verification:
    ok: bool
    problems: list[str]
    checked: list[str]
    notes: list[str]
    drop: list[dict]
    manifest: dict | None

    def as_dict(self) -> dict:
        return {"ok": self.ok, "problems": self.problems, "checked": self.checked, "notes": self.notes,
                "drop": self.drop}


def _load_json(path: Path, what: str, problems: list[str]) -> dict | None:
    if not path.is_file():
        problems.append(f"{what}: {path} is missing")
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(f"{what}: {path} is not valid JSON ({exc})")
        return None
    if not isinstance(value, dict):
        problems.append(f"{what}: {path} is not a JSON object")
        return None
    return value


def _record_metadata(path: Path, fmt: str) -> Iterator[tuple[int, dict]]:
    """(record number from 1, metadata) of each record of a data file."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        if "metadata" not in table.column_names:
            return
        for n, meta in enumerate(table.column("metadata").to_pylist(), 1):
            yield n, (json.loads(meta) if isinstance(meta, str) else meta) or {}
        return
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                yield n, (json.loads(line).get("metadata") or {})


def verify(directory: Path, *, revocations: Path | None = None, trusted_fingerprint: str | None = None
           ) -> Verification:
    """Check a dataset folder against its manifest: the signature, each file's SHA-256 and
    size; with ``revocations``, the list's own signature and the records to drop (looked for in
    the files whose hash matched)."""
    directory = Path(directory)
    problems: list[str] = []
    notes: list[str] = []
    checked: list[str] = []
    drop: list[dict] = []
    manifest = _load_json(directory / MANIFEST, "manifest", problems)
    if manifest is None:
        return Verification(False, problems, checked, notes, drop, None)
    if manifest.get("kind") != MANIFEST_KIND:
        problems.append(f"manifest: kind is {manifest.get('kind')!r}, expected {MANIFEST_KIND!r}")
    problems += [f"manifest: {p}" for p in check_signature(manifest, trusted_fingerprint=trusted_fingerprint)]
    files = manifest.get("files")
    if not isinstance(files, list):
        problems.append("manifest: has no list of files")
        files = []
    listed = set()
    root = directory.resolve()
    for entry in files:
        name = entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not (root / name).resolve().is_relative_to(root):
            problems.append(f"manifest: file entry {entry!r} has no path inside the folder")
            continue
        listed.add(name)
        path = directory / name
        if not path.is_file():
            problems.append(f"{name}: missing (the manifest lists it with sha256 {entry.get('sha256')})")
            continue
        actual = sha256_file(path)
        if actual != entry.get("sha256"):
            problems.append(f"{name}: sha256 mismatch: expected {entry.get('sha256')}, actual {actual}"
                            + (f" (size expected {entry.get('bytes')}, actual {path.stat().st_size})"
                               if entry.get("bytes") != path.stat().st_size else ""))
            continue
        checked.append(name)
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory).as_posix()
        if path.is_file() and rel != MANIFEST and rel not in listed and not any(
                part.startswith(".") for part in path.relative_to(directory).parts):
            notes.append(f"{rel}: not covered by the manifest (added after the export)")
    if revocations is not None:
        rev = _load_json(Path(revocations), "revocations", problems)
        if rev is not None:
            intact = [f for f in files if isinstance(f, dict) and f.get("path") in checked]
            _check_revocations(rev, manifest, directory, intact, problems, notes, drop, trusted_fingerprint)
    return Verification(not problems, problems, checked, notes, drop, manifest)


def _check_revocations(rev: dict, manifest: dict, directory: Path, files: list, problems: list[str],
                       notes: list[str], drop: list[dict], trusted_fingerprint: str | None) -> None:
    if rev.get("kind") != REVOCATIONS_KIND:
        problems.append(f"revocations: kind is {rev.get('kind')!r}, expected {REVOCATIONS_KIND!r}")
        return
    bad = check_signature(rev, trusted_fingerprint=trusted_fingerprint)
    problems += [f"revocations: {p}" for p in bad]
    if bad:
        return
    mine = (manifest.get("signing") or {}).get("fingerprint")
    theirs = (rev.get("signing") or {}).get("fingerprint")
    if mine != theirs:
        problems.append(f"revocations: signed by key {theirs}, the dataset by {mine}")
        return
    project = (manifest.get("project") or {}).get("id")
    if (rev.get("project") or {}).get("id") != project:
        problems.append(f"revocations: for project {(rev.get('project') or {}).get('id')}, the dataset is of "
                        f"project {project}")
        return
    if str(rev.get("created_at") or "") < str(manifest.get("created_at") or ""):
        notes.append("revocations: this list is older than the dataset; ask its publisher for a newer one")
    by_assignment = {r["assignment_id"]: r for r in rev.get("records") or [] if isinstance(r, dict)}
    items = {r.get("item_id") for r in by_assignment.values()}
    for entry in files:
        if not isinstance(entry, dict) or entry.get("role") or entry.get("format") not in FILE_FORMATS:
            continue
        path = directory / entry["path"]
        if not path.is_file():
            continue
        try:
            records = list(_record_metadata(path, entry["format"]))
        except (ValueError, OSError, AttributeError) as exc:  # malformed JSON or Parquet
            problems.append(f"{entry['path']}: cannot be read to look for revoked records ({exc})")
            continue
        for n, meta in records:
            if not isinstance(meta, dict):
                continue
            aid = meta.get("assignment_id")
            if aid is not None and aid in by_assignment:
                drop.append({"file": entry["path"], "record": n, "assignment_id": aid,
                             "item_id": meta.get("item_id"), "item_external_id": meta.get("item_external_id"),
                             "withdrawn_at": by_assignment[aid].get("withdrawn_at"),
                             "why": "its author withdrew consent"})
            elif aid is None and meta.get("item_id") in items:
                drop.append({"file": entry["path"], "record": n, "assignment_id": None,
                             "item_id": meta.get("item_id"), "item_external_id": meta.get("item_external_id"),
                             "withdrawn_at": None,
                             "why": "built from judgments of which one was withdrawn; drop it or re-export"})
