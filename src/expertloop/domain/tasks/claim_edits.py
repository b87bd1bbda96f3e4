"""Trainers correcting a fact-check item's claim split, as pure rules.

A fact-check item carries the claims proposed for its response (imported, or split by a model).
A trainer may judge them as they are (``{"claims": [one verdict per proposed claim]}``) or
correct the split first: edit a claim's text, split one claim into several, merge several into
one, add a claim the split missed, delete one. The response then lists the *final* claims, each
with its ``text`` and ``from`` (the numbers, from 0, of the proposed claims it derives from;
empty for an added claim)::

    {"claims": [{"text": "Paris is the capital of France.", "from": [0], "verdict": "supported"},
                {"text": "It has 2.1 million inhabitants.", "from": [1, 2], "verdict": "supported"},
                {"text": "The Seine flows through it.", "from": [], "verdict": "supported"}]}

Each final claim gets its provenance (``origin``): ``proposed`` (a proposed claim kept
unchanged: same text, ignoring case, spacing and final punctuation), ``edited``, ``split`` (one
of several claims from the same proposed claim), ``merged`` (from several), ``added``; proposed
claims no final claim derives from are listed in ``deleted``. A corrected split that turns out
unchanged (every proposed claim kept, in order, nothing added) is stored in the plain form.

**Matching claims across trainers** (consensus stays per claim). A claim keeps an id that
survives only while it is unchanged: a proposed claim kept as it is is the consensus part of
its number (``p0``, part 0), exactly as when nobody corrects the split, so trainers who keep it
pool their verdicts on it whatever they did to the other claims. An edited, split, merged or
added claim is a new statement with a new id derived from its normalised text (``t`` + a
digest; its consensus part is :data:`TEXT_PART_BASE` plus the digest): trainers who write the
same corrected claim pool their verdicts on it, and a correction nobody else made rests on its
one judgment. Gold, which answers the proposed claims, scores only the claims kept unchanged.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from ..checks import Checker, join

Obj = dict[str, Any]
MAX_CLAIMS = 200
MAX_CLAIM_LEN = 5_000
# Parts from here up are claims keyed by their text; below it, the proposed claim of that number.
TEXT_PART_BASE = 1 << 30
ORIGINS = ("proposed", "edited", "split", "merged", "added")


def normalise(text: str) -> str:
    """A claim's text for matching: case, runs of spaces and final punctuation ignored."""
    return re.sub(r"\s+", " ", text).strip().rstrip(".!;").strip().casefold()


def text_part(text: str) -> int:
    """The consensus part of a claim keyed by its text."""
    digest = hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()
    return TEXT_PART_BASE + int(digest[:7], 16)


def claim_id(part: int) -> str:
    """The claim id exported for a consensus part: ``p3`` (proposed claim 3) or ``t…`` (text)."""
    return f"p{part}" if part < TEXT_PART_BASE else f"t{part - TEXT_PART_BASE:07x}"


def part_of_id(claim: str) -> int:
    """The consensus part a claim id names (the inverse of :func:`claim_id`)."""
    return int(claim[1:]) if claim.startswith("p") else TEXT_PART_BASE + int(claim[1:], 16)


def is_corrected(response: Obj) -> bool:
    """Whether a (checked) response lists its own final claims."""
    claims = response.get("claims") or []
    return any(isinstance(c, dict) and "text" in c for c in claims)


def final_claims(proposed: list[str], response: Obj) -> list[Obj]:
    """The final claims of a checked response, each ``{id, part, text, origin, from, verdict,
    evidence, correction}``: the proposed claims when the split was not corrected."""
    out = []
    for i, judged in enumerate(response.get("claims") or []):
        if "text" in judged:
            part = judged["from"][0] if judged["origin"] == "proposed" else text_part(judged["text"])
            text, origin, source = judged["text"], judged["origin"], list(judged["from"])
        else:
            part, text, origin, source = i, proposed[i] if i < len(proposed) else "", "proposed", [i]
        out.append({"id": claim_id(part), "part": part, "text": text, "origin": origin, "from": source,
                    "verdict": judged.get("verdict"), "evidence": list(judged.get("evidence") or []),
                    "correction": judged.get("correction")})
    return out


def parts(response: Obj) -> list[tuple[int, str]]:
    """(consensus part, verdict) per final claim (see the module on matching)."""
    out = []
    for i, judged in enumerate(response.get("claims") or []):
        if "text" in judged:
            part = judged["from"][0] if judged["origin"] == "proposed" else text_part(judged["text"])
        else:
            part = i
        out.append((part, judged["verdict"]))
    return out


def changes(proposed: list[str], response: Obj) -> Obj:
    """What the trainer did to the split: counts per origin and the deleted proposed claims."""
    finals = final_claims(proposed, response)
    counts = {origin: sum(1 for c in finals if c["origin"] == origin) for origin in ORIGINS}
    used = {i for c in finals for i in c["from"]}
    return {**counts, "deleted": sum(1 for i in range(len(proposed)) if i not in used)}


def check_corrected(c: Checker, claims: list[Any], proposed: list[str], where: str) -> list[Obj] | None:
    """The final claims of a corrected split, with ``text``, ``from`` and ``origin`` checked
    and derived (verdict, evidence and correction are the caller's); None when unusable."""
    if not 1 <= len(claims) <= MAX_CLAIMS:
        c.fail(where, f"must hold from 1 to {MAX_CLAIMS} claims, got {len(claims)}")
        return None
    by_text = {normalise(t): i for i, t in reversed(list(enumerate(proposed)))}
    out: list[Obj] = []
    seen: dict[str, int] = {}
    for k, claim in enumerate(claims):
        cloc = join(where, k)
        if not isinstance(claim, dict):
            out.append({})
            continue
        text = c.text(claim, "text", cloc, max_len=MAX_CLAIM_LEN)
        source = claim.get("from")
        if source is None:
            source = [by_text[normalise(text)]] if text and normalise(text) in by_text else []
        if not isinstance(source, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in source):
            c.fail(join(cloc, "from"), "must be a list of proposed claim numbers (from 0)")
            source = []
        elif any(not 0 <= i < len(proposed) for i in source) or len(set(source)) != len(source):
            c.fail(join(cloc, "from"), f"must list distinct proposed claim numbers from 0 to {len(proposed) - 1}")
            source = []
        if text is not None:
            key = normalise(text)
            if key in seen:
                c.fail(join(cloc, "text"), f"repeats claim {seen[key]}: each final claim must differ")
            seen[key] = k
        out.append({"text": (text or "").strip(), "from": sorted(source)})
    for claim in out:
        source = claim.get("from") or []
        if not source:
            claim["origin"] = "added"
        elif len(source) > 1:
            claim["origin"] = "merged"
        elif normalise(claim["text"]) == normalise(proposed[source[0]]):
            claim["origin"] = "proposed"
        elif sum(1 for other in out if other.get("from") == source) > 1:
            claim["origin"] = "split"
        else:
            claim["origin"] = "edited"
    return out


def unchanged(final: list[Obj], n_proposed: int) -> bool:
    """Whether a corrected split is the proposed one (each claim kept, in order, nothing else)."""
    return len(final) == n_proposed and all(c.get("origin") == "proposed" and c.get("from") == [i]
                                            for i, c in enumerate(final))
