"""``factcheck``: a verdict per claim of a model answer (supported / refuted / not enough info),
with evidence and a correction. Consensus and gold are per claim: each claim is one
categorical part; a gold item scores the share of its claims judged right."""

from __future__ import annotations

from typing import Any

from ..checks import Checker, join
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
                 ("c", "Write a correction"))
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
        return list(suggestion["verdicts"]), [str(c["verdict"]) for c in response["claims"]], "answers"

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
        c.no_unknown(obj, ("claims",), loc)
        n = len(payload.get("claims", []))
        claims = obj.get("claims")
        where = join(loc, "claims")
        if not isinstance(claims, list):
            c.fail(where, f"must be a list with one verdict per claim ({n})")
            return {"claims": []}
        if len(claims) != n:
            c.fail(where, f"must hold one entry per claim: expected {n}, got {len(claims)}")
        out = []
        for i, claim in enumerate(claims):
            cloc = join(where, i)
            if not isinstance(claim, dict):
                c.fail(cloc, "must be an object with verdict, evidence, correction")
                continue
            c.no_unknown(claim, ("verdict", "evidence", "correction"), cloc)
            verdict = claim.get("verdict")
            if verdict not in VERDICTS:
                c.fail(join(cloc, "verdict"), f"must be one of {', '.join(VERDICTS)}; got {verdict!r}")
            evidence = c.string_list(claim, "evidence", cloc, required=False) or []
            correction = c.text(claim, "correction", cloc, required=False, allow_empty=True)
            out.append({"verdict": verdict, "evidence": [e.strip() for e in evidence if e.strip()],
                        "correction": correction or None})
        return {"claims": out}

    def gold_shorthand(self, gold: Any) -> Obj | None:
        if isinstance(gold, list):
            return {"claims": [v if isinstance(v, dict) else {"verdict": v} for v in gold]}
        return None

    def response_from_form(self, form: FormFields, options: Obj, item: Obj) -> Obj:
        claims = []
        for i in range(len(item.get("claims") or [])):
            evidence = [line.strip() for line in form_text(form, f"evidence-{i}").split("\n") if line.strip()]
            claims.append({"verdict": form_text(form, f"verdict-{i}").strip() or None, "evidence": evidence,
                           "correction": form_text(form, f"correction-{i}").strip() or None})
        return {"claims": claims}

    def exam_answer_from_form(self, form: FormFields, prefix: str, question: Obj) -> Obj | None:
        verdicts = [form_text(form, f"{prefix}verdict-{i}").strip() or None
                    for i in range(len(question.get("claims") or []))]
        return {"claims": [{"verdict": v} for v in verdicts]} if any(verdicts) else None

    def gold_score(self, response: Obj, gold: Obj) -> GoldScore | None:
        pairs = list(zip(response["claims"], gold["claims"], strict=False))
        if not pairs:
            return None
        return GoldScore(len(pairs), sum(r["verdict"] == g["verdict"] for r, g in pairs))

    def categorical_answers(self, response: Obj) -> list[tuple[int, str]]:
        return [(i, c["verdict"]) for i, c in enumerate(response["claims"])]

    def answer_space(self, options: Obj, payload: Obj) -> tuple[str, ...]:
        return VERDICTS

    def records(self, fmt: ExportFormat, payload: Obj, response: Obj, metadata: Obj) -> list[Obj]:
        claims = [{"claim": claim, **judged}
                  for claim, judged in zip(payload["claims"], response["claims"], strict=False)]
        return [{"prompt": payload["prompt"], "response": payload["response"], "claims": claims,
                 "metadata": metadata}]

    def attach_consensus(self, record: Obj, options: Obj, payload: Obj, consensus: ItemConsensus) -> None:
        for claim, part in zip(record["claims"], consensus.parts, strict=False):
            claim["consensus_verdict"] = part.answer
            claim["consensus_posterior"] = rounded(part.confidence)
            claim["consensus_distribution"] = part.distribution(VERDICTS)

    def consensus_records(self, fmt: ExportFormat, payload: Obj, options: Obj,
                          consensus: ItemConsensus, metadata: Obj) -> list[Obj]:
        claims = []
        for i, (claim, part) in enumerate(zip(payload["claims"], consensus.parts, strict=False)):
            agreeing = [r["claims"][i] for r in consensus.responses if r["claims"][i]["verdict"] == part.answer]
            evidence = list(dict.fromkeys(e for judged in agreeing for e in judged.get("evidence") or []))
            corrections = list(dict.fromkeys(j["correction"] for j in agreeing if j.get("correction")))
            claims.append({"claim": claim, "verdict": part.answer, "confidence": rounded(part.confidence),
                           "agreement": part.agreement, "distribution": part.distribution(VERDICTS),
                           "evidence": evidence, "corrections": corrections})
        answers = [p.answer for p in consensus.parts]
        whole = sum(1 for r in consensus.responses if [c["verdict"] for c in r["claims"]] == answers)
        meta = {**metadata, "judgments": consensus.judgments,
                "agreement": round(whole / consensus.judgments, 4) if consensus.judgments else None,
                "confidence": rounded(consensus.confidence)}
        return [{"prompt": payload["prompt"], "response": payload["response"], "claims": claims, "metadata": meta}]


SPEC = FactCheck()
