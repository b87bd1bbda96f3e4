"""The live-chat page's calls: the conversation as JSON with every text rendered by the
sanitiser (model text never reaches the page as raw HTML), and the trainer's actions."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ..deps import get_session
from ..domain.policies import Actor
from ..services import chat as chat_svc
from .common import PageId, finish, form_data, signed_in
from .render import markdown

router = APIRouter()
INT_FIELDS = ("at", "turn", "chosen", "rating")
TEXT_FIELDS = ("text", "rewrite", "category", "note")


def _with_html(view: dict) -> dict:
    """Each text beside its sanitised HTML (``*_html``), for the page script to show."""
    for turn in view["turns"]:
        turn["user_html"] = str(markdown(turn["user"]))
        turn["rewrite_html"] = str(markdown(turn["rewrite"])) if turn.get("rewrite") else None
        for cand in turn["candidates"]:
            cand["html"] = str(markdown(cand["text"]))
            cand.pop("model", None)  # the page never names models
    return view


def _action(form: FormData) -> dict:
    """The action a page form describes: only the fields it sent; an empty field is null."""
    out: dict = {"action": str(form.get("action") or "")}
    for key in INT_FIELDS:
        if key in form:
            value = str(form.get(key) or "").strip()
            out[key] = int(value) if value.lstrip("-").isdecimal() and len(value) < 10 else (value or None)
    for key in TEXT_FIELDS:
        if key in form:
            raw = form.get(key)
            out[key] = raw.replace("\r\n", "\n") if isinstance(raw, str) and raw != "" else None
    return out


@router.get("/tasks/{assignment_id}/chat")
def chat_state(assignment_id: PageId, request: Request, actor: Actor = Depends(signed_in),
               db: Session = Depends(get_session)):
    return finish(request, JSONResponse(_with_html(chat_svc.get_chat(db, actor, assignment_id))))


@router.post("/tasks/{assignment_id}/chat")
def chat_act(assignment_id: PageId, request: Request, form: FormData = Depends(form_data),
             actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    return finish(request, JSONResponse(_with_html(chat_svc.act(db, actor, assignment_id, _action(form)))))


__all__ = ["router"]
