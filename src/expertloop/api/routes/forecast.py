from typing import Any

from fastapi import Depends, Query
from pydantic import Field
from sqlalchemy.orm import Session

from ...domain.policies import Actor
from ...services.forecast import DEFAULT_DRAWS, MAX_DRAWS, project_forecast
from ..deps import get_actor, get_session
from ..schemas import Id, errors
from ..schemas.common import View
from ._base import router as make_router

router = make_router("quality")


class ForecastOut(View):
    """The forecast of a project's remaining items, one row per tier mix."""

    project_id: int
    target: dict[str, Any] = Field(description="{kind: accuracy | alpha, value}")
    remaining_items: int = Field(description="Items without gold that have no counted judgment yet")
    trainers: int = Field(description="Trainers measured by the stored fit who worked in the pilot")
    fitted_at: str | None = Field(description="When the consensus fit it reads was made")
    budget_left_cents: int | None
    mixes: list[dict[str, Any]] = Field(
        description="Per tier mix: judgments, judgments_per_item, hours, cost_cents, cost_usd and accuracy, "
                    "each {mean, low, high} (90% interval); threshold; reach_probability")


@router.get("/projects/{project_id}/forecast",
            summary="Judgments, expert-hours and dollars to bring the remaining items to a target",
            description="Simulates adaptive overlap on the remaining items with the trainers measured by the "
                        "project's stored consensus fit, their mean active seconds and pay rates; 90% intervals "
                        "over draws of the trainers' confusions, one row per tier mix. 409 until the "
                        "refit_consensus job has stored a fit. Staff only.",
            response_model=ForecastOut, responses=errors(403, 404, 409, 422))
def forecast(project_id: Id,
             target: str = Query("accuracy:0.95", min_length=3, max_length=40, pattern=r"^[A-Za-z]+[:=][0-9.eE+-]+$",
                                 description="accuracy:X (expected consensus accuracy) or alpha:X (Krippendorff's "
                                             "alpha of the consensus against the truth), X in (0, 1)"),
             draws: int = Query(DEFAULT_DRAWS, ge=1, le=MAX_DRAWS, description="Draws of the trainers' parameters"),
             seed: int = Query(0, ge=0, le=2**31 - 1, description="Random seed (same seed, same answer)"),
             actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return project_forecast(session, actor, project_id, target, draws=draws, seed=seed)
