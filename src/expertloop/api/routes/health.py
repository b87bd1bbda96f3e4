from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from ...services.health import database_status
from ..deps import get_session

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness and database check")
def health(session: Session = Depends(get_session)) -> dict:
    return database_status(session)
