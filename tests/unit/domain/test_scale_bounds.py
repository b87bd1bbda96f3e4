"""Scales are bounded: the trainer's page draws one control per point of a scale, so a project
may not define one with a trillion points (each task page would never finish rendering)."""

from __future__ import annotations

import pytest

from expertloop.domain.errors import ValidationFailed
from expertloop.domain.projects import parse_project


def _project(task_type: str, options: dict) -> dict:
    return {"name": "P", "task_type": task_type, "options": options}


@pytest.mark.parametrize("scale", [[-10**12, 10**12], [-11, 3], [-3, 11]])
def test_a_signed_preference_scale_beyond_ten_points_a_side_is_refused(scale):
    with pytest.raises(ValidationFailed) as exc:
        parse_project(_project("preference", {"scale": scale}))
    assert any(p.loc == "options.scale" for p in exc.value.problems)


def test_a_signed_preference_scale_within_bounds_is_kept():
    assert parse_project(_project("preference", {"scale": [-10, 10]})).options["scale"] == [-10, 10]


@pytest.mark.parametrize("scale", [[0, 10**9], [-5000, -4000], [0, 101]])
def test_a_rubric_scale_too_wide_or_too_far_out_is_refused(scale):
    with pytest.raises(ValidationFailed) as exc:
        parse_project(_project("rubric", {"criteria": [{"name": "accuracy", "scale": scale}]}))
    assert any("scale" in p.loc for p in exc.value.problems)


def test_a_rubric_scale_of_a_hundred_points_is_kept():
    options = parse_project(_project("rubric", {"criteria": [{"name": "accuracy", "scale": [0, 100]}]})).options
    assert options["criteria"][0]["scale"] == [0, 100]


def test_an_exam_refuses_a_signed_preference_scale():
    """An exam page asks for a choice; an exam built on a signed scale could never be passed."""
    from expertloop.domain.exams import parse_exam
    from expertloop.domain.tasks import task_type

    def check_options(c, t, options):
        return task_type(t).check_options(c, options)

    exam = {"name": "Pairs", "domain": "history", "level": 3, "task_type": "preference",
            "options": {"scale": [-3, 3]}, "pass_mark": 0.8, "time_limit_minutes": 20,
            "questions": [{"prompt": "Q?", "responses": [{"text": "a"}, {"text": "b"}], "gold": {"score": -2}}]}
    with pytest.raises(ValidationFailed) as exc:
        parse_exam(exam, check_options)
    assert any(p.loc == "options.scale" for p in exc.value.problems)
