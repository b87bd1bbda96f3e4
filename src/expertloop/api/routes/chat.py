"""Live chat: the conversation of a trainer's chat assignment, and the actions on it."""

from typing import Any

from fastapi import Body, Depends
from pydantic import Field
from sqlalchemy.orm import Session

from ...domain.policies import Actor
from ...services import chat as svc
from ..deps import get_actor, get_session
from ..schemas import Id, JsonObject, errors
from ..schemas.common import View
from ._base import router as make_router

router = make_router("chat")


class ChatTurnOut(View):
    index: int
    user: str
    status: str = Field(description="pending (the model is answering), ready, or error (retry)")
    error: str | None
    candidates: list[dict[str, Any]] = Field(description="{index, text}; model names are for staff only")
    chosen: int | None
    rating: int | None
    rewrite: str | None


class ChatOut(View):
    assignment_id: int
    state: str
    mode: str
    system_prompt: str | None
    min_turns: int
    max_turns: int
    candidates_per_turn: int
    failure_categories: list[str]
    turns: list[ChatTurnOut]
    failure: dict[str, Any] | None
    pending: bool


@router.get("/assignments/{assignment_id}/chat", summary="The conversation of a live-chat assignment",
            response_model=ChatOut, responses=errors(404))
def get_chat(assignment_id: Id, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return svc.get_chat(session, actor, assignment_id)


@router.post("/assignments/{assignment_id}/chat",
             summary="Act on a live chat: send a message, regenerate, choose / rate / rewrite, label a failure",
             description="One action per call, the body naming it: `{\"action\": \"send\", \"text\": …, \"at\": "
                         "turn?}` (with `at` an earlier turn, the conversation is cut there), `{\"action\": "
                         "\"regenerate\", \"turn\": i}` (also the retry after a model error), `{\"action\": "
                         "\"decide\", \"turn\": i, \"chosen\"?: j, \"rating\"?: 1–5, \"rewrite\"?: text}`, "
                         "`{\"action\": \"failure\", \"turn\": i | null, \"category\": c, \"note\"?: text}` "
                         "(redteam). Answers come from a job: poll `GET` until no turn is `pending`.",
             response_model=ChatOut, responses=errors(403, 404, 409))
def act(assignment_id: Id, body: JsonObject = Body(..., examples=[{"action": "send", "text": "Hello!"}]),
        actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return svc.act(session, actor, assignment_id, body)
