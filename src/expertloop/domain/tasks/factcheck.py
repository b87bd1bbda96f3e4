"""``factcheck``: a verdict per claim of a model answer (supported / refuted / not enough info),
with evidence and a correction. Consensus and gold are per claim: each claim is one
categorical part; a gold item scores the share of its claims judged right.

Trainers may correct the proposed claim split before judging (edit, split, merge, add, delete):
the rules, and how corrected claims are matched across trainers, are in :mod:`.claim_edits`."""

from __future__ import annotations

from typing import Any

from ..checks import Checker, join
from . import claim_edits
from .base import (
    ExportFormat,
    FormFields,
    GoldScore,
    ItemConsensus,
    Obj,
    TaskType,
    TaskTypeSpec,
    check_ai_assistance,
    form_text,
    reply_json,
    rounded,
)

VERDICTS = ("supported", "refuted", "not_enough_info")


class FactCheck(TaskTypeSpec):
    name = TaskType.factcheck
    title = "Fact-check"
    shortcuts = (("s / r / n", "Supported / refuted / not enough info"), ("e", "Write evidence"),
                 ("c", "Write a correction"), ("t", "Edit the claim's text"),
                 ("a", "Add a claim after this one"), ("p", "Split the claim at the cursor (in its text)"),
                 ("m", "Merge the claim with the next one"), ("x", "Delete the claim (again: restore it)"))
    formats = (ExportFormat.factcheck,)
    consensus_formats = (ExportFormat.factcheck,)
    has_consensus = True
    gradable = True
    escalates_on_disagreement = True
    ai_kinds = ("preselect",)

    def check_options(self, c: Checker, options: Obj) -> Obj:
        check_ai_assistance(c, options, self.ai_kinds)
        c.no_unknown(options, ("ai_assistance",), "options")
        return options

    def suggestion_prompt(self, payload: Obj, options: Obj, kind: str) -> list[Obj]:
        claims = "\n".join(f"{i + 1}. {claim}" for i, claim in enumerate(payload["claims"]))
        return [{"role": "system", "content": "You are a judge helping an expert fact-checker. For each numbered "
                                              "claim give one verdict: supported, refuted or not_enough_info. "
                                              "Reply with JSON {\"verdicts\": [one verdict per claim]}."},
                {"role": "user", "content": f"PROMPT: {payload['prompt']}\nRESPONSE: {payload['response']}\n"
                                            f"CLAIMS:\n{claims}"}]

    def suggestion_from_reply(self, reply: str, payload: Obj, options: Obj, kind: str) -> Obj | None:
        parsed = reply_json(reply)
        verdicts = parsed.get("verdicts") if isinstance(parsed, dict) else None
        if not isinstance(verdicts, list) or len(verdicts) != len(payload["claims"]) \
                or any(v not in VERDICTS for v in verdicts):
            return None
        return {"verdicts": list(verdicts)}

    def suggestion_outcome(self, suggestion: Obj, response: Obj) -> tuple[list[str], list[str], str]:
        """Pre-selected verdicts against the verdicts given to the same proposed claims (a claim
        the trainer corrected or deleted counts as changed)."""
        suggested = list(suggestion["verdicts"])
        if not claim_edits.is_corrected(response):
            return suggested, [str(c["verdict"]) for c in response["claims"]], "answers"
        kept = {part: verdict for part, verdict in claim_edits.parts(response)
                if part < claim_edits.TEXT_PART_BASE}
        return suggested, [str(kept.get(i, "(corrected)")) for i in range(len(suggested))], "answers"

    def check_payload(self, c: Checker, payload: Obj, loc: str) -> None:
        c.text(payload, "prompt", loc)
        c.text(payload, "response", loc)
        claims = c.string_list(payload, "claims", loc, min_len=1)
        for i, claim in enumerate(claims or []):
            if not claim.strip():
                c.fail(join(join(loc, "claims"), i), "must not be empty")
        if payload.get("model") is not None and not isinstance(payload["model"], str):
            c.fail(join(loc, "model"), "must be a string: the model that wrote the response")
        c.no_unknown(payload, ("prompt", "response", "claims", "model"), loc)

    def trainer_view(self, payload: Obj, presentation: Obj | None) -> Obj:
        """The item without the name of the model that wrote the response."""
        return {k: v for k, v in payload.items() if k != "model"}

    def check_response(self, c: Checker, obj: Obj, options: Obj, payload: Obj, loc: str) -> Obj:
        c.no_unknown(obj, ("claims", "deleted"), loc)
        proposed = list(payload.get("claims", []))
        n = len(proposed)
        claims = obj.get("claims")
        where = join(loc, "claims")
        if not isinstance(claims, list):
            c.fail(where, f"must be a list with one verdict per claim ({n})")
            return {"claims": []}
        corrected = any(isinstance(claim, dict) and "text" in claim for claim in claims)
        final = None
        if corrected:
            final = claim_edits.check_corrected(c, claims, proposed, where)
            if final is None:
                return {"claims": []}
        elif len(claims) != n:
            c.fail(where, f"must hold one entry per claim: expected {n}, got {len(claims)} "
                          "(to correct the split, give each claim its text)")
        out = []
        for i, claim in enumerate(claims):
            cloc = join(where, i)
            if not isinstance(claim, dict):
                c.fail(cloc, "must be an object with verdict, evidence, correction")
                continue
            c.no_unknown(claim, ("verdict", "evidence", "correction", "text", "from", "origin", "id"), cloc)
            if not corrected and ("from" in claim or "origin" in claim):
                c.fail(cloc, "gives from/origin without text: a corrected claim needs its text")
            verdict = claim.get("verdict")
            if verdict not in VERDICTS:
                c.fail(join(cloc, "verdict"), f"must be one of {', '.join(VERDICTS)}; got {verdict!r}")
            evidence = c.string_list(claim, "evidence", cloc, required=False) or []
            correction = c.text(claim, "correction", cloc, required=False, allow_empty=True)
            judged = {"verdict": verdict, "evidence": [e.strip() for e in evidence if e.strip()],
                      "correction": correction or None}
            out.append({**final[i], **judged} if final is not None else judged)
        if final is not None and claim_edits.unchanged(final, n):
            out = [{k: v for k, v in claim.items() if k not in ("text", "from", "origin")} for claim in out]
        return {"claims": out}

    def gold_shorthand(self, gold: Any) -> Obj | None:
        if isinstance(gold, list):
            return {"claims": [v if isinstance(v, dict) else {"verdict": v} for v in gold]}
        return None

    def response_from_form(self, form: FormFields, options: Obj, item: Obj) -> Obj:
        """The page's claim rows (``claim-count`` of them, after any correction of the split:
        ``claim-text-N``, ``claim-from-N``) or, from a form without them, one per proposed claim."""
        count = form_text(form, "claim-count").strip()
        corrected = count.isascii() and count.isdigit() and len(count) <= 6  # "²" is a digit int() refuses
        n = min(int(count), claim_edits.MAX_CLAIMS + 1) if corrected else len(item.get("claims") or [])
        claims = []
        for i in range(n):
            evidence = [line.strip() for line in form_text(form, f"evidence-{i}").split("\n") if line.strip()]
            claim: Obj = {"verdict": form_text(form, f"verdict-{i}").strip() or None, "evidence": evidence,
                          "correction": form_text(form, f"correction-{i}").strip() or None}
            if corrected:
                source = [int(x) for x in (x.strip() for x in form_text(form, f"claim-from-{i}").split(","))
                          if x.isascii() and x.isdigit() and len(x) <= 6]
                claim = {"text": form_text(form, f"claim-text-{i}").strip(), "from": source, **claim}
            claims.append(claim)
        return {"claims": claims}

    def exam_answer_from_form(self, form: FormFields, prefix: str, question: Obj) -> Obj | None:
        verdicts = [form_text(form, f"{prefix}verdict-{i}").strip() or None
                    for i in range(len(question.get("claims") or []))]
        return {"claims": [{"verdict": v} for v in verdicts]} if any(verdicts) else None

    def gold_score(self, response: Obj, gold: Obj) -> GoldScore | None:
        """Gold answers the proposed claims. In a corrected split a proposed claim kept or edited
        alone is scored on its verdict; one deleted, split or merged counts as missed, so that
        editing every claim cannot take a trainer out of gold scoring."""
        if claim_edits.is_corrected(response):
            kept: dict[int, list[str | None]] = {}
            for claim in response["claims"]:
                if claim.get("origin") in ("proposed", "edited") and len(claim.get("from") or []) == 1:
                    kept.setdefault(claim["from"][0], []).append(claim.get("verdict"))
            pairs = [(kept[i][0] if len(kept.get(i, [])) == 1 else None, g["verdict"])
                     for i, g in enumerate(gold["claims"])]
        else:
            pairs = [(r["verdict"], g["verdict"]) for r, g in zip(response["claims"], gold["claims"], strict=False)]
        if not pairs:
            return None
        return GoldScore(len(pairs), sum(r == g for r, g in pairs))

    def categorical_answers(self, response: Obj) -> list[tuple[int, str]]:
        return claim_edits.parts(response)

    def answer_space(self, options: Obj, payload: Obj) -> tuple[str, ...]:
        return VERDICTS

    def records(self, fmt: ExportFormat, payload: Obj, response: Obj, metadata: Obj) -> list[Obj]:
        """The final claims (after any correction of the split), each with its id, provenance
        (``origin``, ``from``) and judgment; ``proposed_claims`` keeps the split shown."""
        claims = [_exported(claim) for claim in claim_edits.final_claims(payload["claims"], response)]
        return [{"prompt": payload["prompt"], "response": payload["response"], "claims": claims,
                 "proposed_claims": list(payload["claims"]),
                 "claim_changes": claim_edits.changes(payload["claims"], response), "metadata": metadata}]

    def attach_consensus(self, record: Obj, options: Obj, payload: Obj, consensus: ItemConsensus) -> None:
        parts = consensus.by_part()
        for claim in record["claims"]:
            part = parts.get(claim_edits.part_of_id(claim["id"]))
            claim["consensus_verdict"] = part.answer if part else None
            claim["consensus_posterior"] = rounded(part.confidence) if part else None
            claim["consensus_distribution"] = part.distribution(VERDICTS) if part else None

    def consensus_records(self, fmt: ExportFormat, payload: Obj, options: Obj,
                          consensus: ItemConsensus, metadata: Obj) -> list[Obj]:
        """One record per item: the consensus per final claim, proposed claims first (in their
        order), then claims trainers wrote (in the order they first appear)."""
        finals = [{c["part"]: c for c in claim_edits.final_claims(payload["claims"], r)} for r in consensus.responses]
        parts = consensus.by_part()
        order = sorted(p for p in parts if p < claim_edits.TEXT_PART_BASE)
        order += list(dict.fromkeys(p for f in finals for p in f if p >= claim_edits.TEXT_PART_BASE and p in parts))
        claims = []
        for p in order:
            part = parts[p]
            judged = [f[p] for f in finals if p in f]
            agreeing = [j for j in judged if j["verdict"] == part.answer]
            evidence = list(dict.fromkeys(e for j in agreeing for e in j.get("evidence") or []))
            corrections = list(dict.fromkeys(j["correction"] for j in agreeing if j.get("correction")))
            text = payload["claims"][p] if p < claim_edits.TEXT_PART_BASE else judged[0]["text"]
            origins = sorted({j["origin"] for j in judged})
            claims.append({"claim": text, "id": claim_edits.claim_id(p),
                           "origin": "proposed" if p < claim_edits.TEXT_PART_BASE else "trainer",
                           "origins": origins, "judged_by": len(judged),
                           "verdict": part.answer, "confidence": rounded(part.confidence),
                           "agreement": part.agreement, "distribution": part.distribution(VERDICTS),
                           "evidence": evidence, "corrections": corrections})
        answers = {p: parts[p].answer for p in order}
        whole = sum(1 for f in finals if {p: c["verdict"] for p, c in f.items()} == answers)
        meta = {**metadata, "judgments": consensus.judgments,
                "agreement": round(whole / consensus.judgments, 4) if consensus.judgments else None,
                "confidence": rounded(consensus.confidence)}
        return [{"prompt": payload["prompt"], "response": payload["response"], "claims": claims,
                 "proposed_claims": list(payload["claims"]), "metadata": meta}]


def _exported(claim: Obj) -> Obj:
    """A final claim as an export shows it."""
    return {"claim": claim["text"], "id": claim["id"], "origin": claim["origin"], "from": claim["from"],
            "verdict": claim["verdict"], "evidence": claim["evidence"], "correction": claim["correction"]}


SPEC = FactCheck()
