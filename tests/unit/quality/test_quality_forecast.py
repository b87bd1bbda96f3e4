"""Forecast of what a target accuracy costs under adaptive overlap."""

import numpy as np
import pytest

from expertloop.quality.forecast import forecast_adaptive


def _run(target, reliability=(0.8, 0.8, 0.8), **kw):
    n = len(reliability)
    return forecast_adaptive(reliability, [1] * n, [60] * n, [120] * n, n_items=kw.pop("n_items", 500),
                             n_classes=kw.pop("n_classes", 2), target_accuracy=target, **kw)


def test_one_judgment_meets_a_target_the_trainers_already_meet():
    f = _run(0.75, max_overlap=5)
    assert f.reached and f.mean_overlap == pytest.approx(1.0, abs=0.05)
    assert f.judgments[1] == pytest.approx(500, rel=0.05)
    assert f.hours[1] == pytest.approx(500 / 60, rel=0.05)       # 60 s each
    assert f.dollars[1] == pytest.approx(500 / 60 * 120, rel=0.05)


def test_a_higher_target_costs_more_and_is_reached_by_adaptive_overlap():
    low, high = _run(0.8), _run(0.93)
    assert high.reached and high.accuracy[1] >= 0.93
    assert high.judgments[1] > low.judgments[1] and high.dollars[0] <= high.dollars[1] <= high.dollars[2]
    # three independent 80% judgments by majority give 0.896: adaptive stopping spends fewer than 5 each
    assert 1 < high.mean_overlap < 5


def test_an_unreachable_target_says_so():
    f = _run(0.999, reliability=(0.6, 0.6), max_overlap=3)
    assert not f.reached and f.accuracy[1] < 0.999


def test_cheap_reliable_trainers_cost_less():
    cheap = forecast_adaptive([0.9, 0.9], [1, 1], [60, 60], [40, 40], n_items=300, n_classes=3, target_accuracy=0.95)
    dear = forecast_adaptive([0.9, 0.9], [1, 1], [60, 60], [200, 200], n_items=300, n_classes=3,
                             target_accuracy=0.95)
    assert cheap.dollars[1] == pytest.approx(dear.dollars[1] / 5, rel=0.01)


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        forecast_adaptive([0.8], [1, 1], [60], [40], n_items=10, n_classes=2, target_accuracy=0.9)
    with pytest.raises(ValueError):
        forecast_adaptive([0.8], [1], [60], [40], n_items=10, n_classes=2, target_accuracy=1.5)
    assert forecast_adaptive([0.8], [1], [60], [40], n_items=0, n_classes=2, target_accuracy=0.7).judgments == (0, 0, 0)
    assert np.isfinite(forecast_adaptive([1.0], [1], [0], [0], n_items=5, n_classes=2, target_accuracy=0.9).hours[1])


def test_a_large_project_is_simulated_on_a_sample_and_scaled():
    f = _run(0.75, n_items=1_000_000, n_sims=20)
    assert f.judgments[1] == pytest.approx(1_000_000, rel=0.05)
