"""Signed exports, the instance's public key, revocation lists, authenticity review."""

from __future__ import annotations

from fastapi import Body, Depends, Query
from sqlalchemy.orm import Session

from ...config import Settings
from ...domain.authenticity import STATUSES
from ...domain.policies import Actor
from ...domain.records import ExportFormat
from ...services import authenticity as auth_svc
from ...services import passport, passport_jobs, signing
from ..deps import get_actor, get_session, get_settings
from ..schemas import Id, JsonObject, Limit, errors
from ..schemas.integrity import AuthenticityCheckOut, PublicKey
from ..schemas.resources import ExportOut, RevocationList
from ._base import router as make_router

router = make_router("integrity")


@router.get("/signing-key", summary="The instance's Ed25519 public key: manifests and revocation lists are "
                                    "signed with it", response_model=PublicKey)
def signing_key(actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return signing.public_key(session)


@router.get("/projects/{project_id}/revocations", response_model=RevocationList,
            summary="The signed list of judgments whose author withdrew consent (admin, manager)",
            responses=errors(403, 404))
def revocations(project_id: Id, actor: Actor = Depends(get_actor),
                session: Session = Depends(get_session)) -> dict:
    return passport.revocation_list(session, actor, project_id)


SIGNED_DESCRIPTION = """\
Queues a job that writes, under the data directory, a ZIP of the folder `expertloop export
--manifest` (or, with `hub=true`, `--hub-dir`) writes: the data files and a `manifest.json` signed
with the instance's Ed25519 key (counts, SHA-256 of each file, guideline and terms versions with
their text, consent standing, review and authenticity shares, software version, this query).
Follow it at `GET /api/v1/exports/{id}`; once done, `download_url` serves the ZIP. Check the
unpacked folder with `expertloop verify DIR`.
"""


@router.post("/projects/{project_id}/export/signed", status_code=202,
             summary="Queue a signed export (data + manifest.json as a ZIP): follow it, then download it",
             description=SIGNED_DESCRIPTION, response_model=ExportOut, responses=errors(403, 404, 422))
def signed_export(project_id: Id, format: ExportFormat = Query(...),
                  file_format: str = Query("jsonl", pattern="^(jsonl|parquet)$"),
                  consensus: bool = Query(False), min_judgments: int | None = Query(None, ge=1, le=1_000_000),
                  min_confidence: float | None = Query(None, ge=0.0, le=1.0),
                  hub: bool = Query(False, description="a Hugging Face Hub folder (train/test, README card)"),
                  test_share: float = Query(0.1, ge=0.0, lt=1.0), seed: int = Query(0, ge=0, le=2**62),
                  license: str = Query("other", min_length=1, max_length=100, pattern="^[A-Za-z0-9.-]+$"),
                  include_audit: bool = Query(False, description="add the project's audit log (audit.jsonl)"),
                  actor: Actor = Depends(get_actor), session: Session = Depends(get_session),
                  settings: Settings = Depends(get_settings)) -> dict:
    return passport_jobs.request_signed_export(
        session, actor, project_id, format.value, data_dir=settings.data_dir, settings=settings,
        file_format=file_format, consensus=consensus, min_judgments=min_judgments, min_confidence=min_confidence,
        hub=hub, test_share=test_share, seed=seed, license=license, include_audit=include_audit)


@router.get("/projects/{project_id}/authenticity", summary="Authenticity checks with their evidence "
                                                           "(admin, manager); default: flags awaiting a decision",
            response_model=list[AuthenticityCheckOut], responses=errors(403, 404))
def review_queue(project_id: Id, status: str = Query("flagged", pattern="^(" + "|".join(STATUSES) + "|all)$"),
                 limit: Limit = 100, actor: Actor = Depends(get_actor),
                 session: Session = Depends(get_session)) -> list[dict]:
    return auth_svc.review_queue(session, actor, project_id, status=None if status == "all" else status,
                                 limit=limit)


@router.get("/authenticity/mine", summary="The calling expert's flagged checks, decisions and replies",
            response_model=list[AuthenticityCheckOut], responses=errors(403))
def mine(actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> list[dict]:
    return auth_svc.my_checks(session, actor)


@router.get("/authenticity/{check_id}", summary="One authenticity check (staff, or the expert it is about)",
            response_model=AuthenticityCheckOut, responses=errors(403, 404))
def get_check(check_id: Id, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return auth_svc.get_check(session, actor, check_id)


@router.post("/authenticity/{check_id}/decision",
             summary="Decide a flag (admin, manager): cleared or upheld, with a note; the expert is notified; "
                     "pay is unchanged", response_model=AuthenticityCheckOut, responses=errors(403, 404))
def decide(check_id: Id, body: JsonObject = Body(..., examples=[{"outcome": "cleared", "note": "typed offline"}]),
           actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return auth_svc.decide(session, actor, check_id, body.get("outcome"), body.get("note"))


@router.post("/authenticity/{check_id}/reply", summary="The expert's reply to a flag about their work",
             response_model=AuthenticityCheckOut, responses=errors(403, 404))
def reply(check_id: Id, body: JsonObject = Body(..., examples=[{"reply": "I drafted it in my editor."}]),
          actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return auth_svc.reply(session, actor, check_id, body.get("reply"))
