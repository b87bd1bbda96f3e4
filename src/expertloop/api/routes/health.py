from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from ...services.health import database_status
from ..deps import get_session
from ..schemas.resources import Health

router = APIRouter(tags=["health"])  # no credentials, no input: no 4xx to document


@router.get("/health", summary="Liveness and database check", response_model=Health)
def health(session: Session = Depends(get_session)) -> dict:
    return database_status(session)
