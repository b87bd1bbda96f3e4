from fastapi import APIRouter, Depends
from sqlalchemy import text
from sqlalchemy.orm import Session

from ..deps import get_session
from ..schemas.resources import Health

router = APIRouter(tags=["health"])  # no credentials, no input: no 4xx to document


@router.get("/health", summary="Liveness and database check", response_model=Health)
def health(session: Session = Depends(get_session)) -> dict:
    session.execute(text("SELECT 1"))
    return {"status": "ok", "database": session.get_bind().dialect.name}
