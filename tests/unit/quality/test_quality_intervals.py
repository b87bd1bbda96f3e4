import numpy as np
import pytest

from expertloop.quality import bootstrap_ci, wilson_interval


def test_wilson_by_hand():
    # 8/10 at 95 %: z = 1.959964; centre = (0.8 + z^2/20) / (1 + z^2/10)
    z = 1.959963984540054
    centre = (0.8 + z * z / 20) / (1 + z * z / 10)
    half = z * np.sqrt(0.8 * 0.2 / 10 + z * z / 400) / (1 + z * z / 10)
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(centre - half) and high == pytest.approx(centre + half)
    assert (low, high) == pytest.approx((0.4902, 0.9433), abs=1e-4)


def test_wilson_edges_and_vectorised():
    low, high = wilson_interval(np.array([0, 10, 0]), np.array([10, 10, 0]))
    assert low[0] == 0.0 and 0.2 < high[0] < 0.35
    assert high[1] == 1.0 and 0.65 < low[1] < 0.8
    assert (low[2], high[2]) == (0.0, 1.0)
    narrow = wilson_interval(50, 100, confidence=0.5)
    wide = wilson_interval(50, 100, confidence=0.99)
    assert wide[0] < narrow[0] < 0.5 < narrow[1] < wide[1]
    with pytest.raises(ValueError):
        wilson_interval(5, 3)
    with pytest.raises(ValueError):
        wilson_interval(1, 3, confidence=1.5)


def test_bootstrap_ci_covers_mean_and_is_reproducible():
    rng = np.random.default_rng(0)
    x = rng.normal(10, 2, 400)
    low, high = bootstrap_ci(np.mean, x, n_boot=500, random_state=1)
    se = 2 / np.sqrt(400)
    assert low < x.mean() < high
    assert (high - low) == pytest.approx(2 * 1.96 * se, rel=0.2)
    assert bootstrap_ci(np.mean, x, n_boot=500, random_state=1) == (low, high)
    # two aligned arrays are resampled together
    y = 2 * x
    lo2, hi2 = bootstrap_ci(lambda a, b: np.mean(b - a), x, y, n_boot=200, random_state=2)
    assert lo2 < x.mean() < hi2
