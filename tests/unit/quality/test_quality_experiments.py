"""Experiment statistics: randomisation, two proportions, bootstrap ratios, Holm, power."""

import numpy as np
import pytest

from expertloop.quality.experiments import (
    block_arm,
    bootstrap_ratio,
    holm,
    n_per_arm_two_proportions,
    two_proportions,
)


def test_block_arm_balances_every_block_of_every_stratum_and_is_reproducible():
    for stratum in ("law", "medicine"):
        arms = [block_arm(7, stratum, i, 3) for i in range(60)]
        for b in range(10):
            assert sorted(arms[6 * b:6 * b + 6]) == [0, 0, 1, 1, 2, 2]
        assert arms == [block_arm(7, stratum, i, 3) for i in range(60)]
    assert [block_arm(7, "law", i, 2) for i in range(40)] != [block_arm(8, "law", i, 2) for i in range(40)]
    with pytest.raises(ValueError):
        block_arm(1, "x", 0, 2, block_size=3)
    with pytest.raises(ValueError):
        block_arm(1, "x", -1, 2)


def test_two_proportions_matches_newcombe_1998():
    # Newcombe (1998), Table II example (56/70 vs 48/80), method 10: 0.0524 to 0.3339
    t = two_proportions(48, 80, 56, 70)
    assert t.difference == pytest.approx(0.2)
    assert t.low == pytest.approx(0.0524, abs=5e-4)
    assert t.high == pytest.approx(0.3339, abs=5e-4)
    assert 0.005 < t.p_value < 0.02  # pooled z = 2.58
    same = two_proportions(30, 60, 30, 60)
    assert same.difference == 0 and same.p_value == pytest.approx(1.0)
    empty = two_proportions(0, 0, 3, 4)
    assert empty.p_value == 1.0 and (empty.low, empty.high) == (-1.0, 1.0)
    with pytest.raises(ValueError):
        two_proportions(5, 4, 1, 2)


def test_bootstrap_ratio_finds_a_real_difference_and_not_a_false_one():
    rng = np.random.default_rng(0)
    a = rng.lognormal(4.0, 0.5, 300)
    b = rng.lognormal(4.0, 0.5, 300) * 0.8
    t = bootstrap_ratio(a, b, random_state=1)
    assert t.low < 0.8 < t.high and t.high < 1 and t.p_value < 0.01
    null = bootstrap_ratio(a, rng.lognormal(4.0, 0.5, 300), random_state=1)
    assert null.low < 1 < null.high and null.p_value > 0.05
    tiny = bootstrap_ratio([1.0], [2.0, 3.0])
    assert tiny.p_value == 1.0 and np.isnan(tiny.low)


def test_holm_step_down():
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])
    out = holm([0.5, np.nan, 0.01])
    assert np.isnan(out[1]) and out[0] == pytest.approx(0.5) and out[2] == pytest.approx(0.02)
    assert holm([]).size == 0


def test_n_per_arm_for_a_difference_of_two_proportions():
    # Fleiss, Levin & Paik eq. 4.14 without continuity correction: 0.5 vs 0.6 at 5% / 80% -> 388
    assert n_per_arm_two_proportions(0.5, 0.1) == 388
    assert n_per_arm_two_proportions(0.8, 0.03) > n_per_arm_two_proportions(0.8, 0.1)
    assert n_per_arm_two_proportions(0.99, 0.03) > 0  # tested downwards near 1
    with pytest.raises(ValueError):
        n_per_arm_two_proportions(0.5, 0.0)
