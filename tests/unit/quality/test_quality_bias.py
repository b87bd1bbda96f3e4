import numpy as np
import pytest
from scipy import stats

from expertloop.quality import (
    group_agreement,
    group_disagreement,
    label_skew,
    length_bias,
    leniency,
    position_bias,
    speed_flags,
    straight_lining,
)


def test_position_bias_flags_first_clicker():
    rng = np.random.default_rng(0)
    trainers = np.repeat(["fair", "first"], 200)
    chose_first = np.concatenate([rng.random(200) < 0.5, rng.random(200) < 0.8])
    res = position_bias(trainers, chose_first)
    assert res.trainer_ids.tolist() == ["fair", "first"]
    assert res.p_values[0] > 0.01 and res.p_values[1] < 1e-6
    assert res.share_first[1] == pytest.approx(chose_first[200:].mean())
    k = int(chose_first[200:].sum())
    assert res.p_values[1] == pytest.approx(stats.binomtest(k, 200, 0.5).pvalue)
    assert res.n.tolist() == [200, 200]


def test_length_bias_is_measured_against_consensus():
    # On items 0-49 the longer answer is genuinely better (everyone picks it);
    # on items 50-99 it is not, but trainer L still picks it.
    items, trainers, longer = [], [], []
    for i in range(100):
        for t in ["A", "B", "L"]:
            items.append(i)
            trainers.append(t)
            longer.append(i < 50 or t == "L")
    res = length_bias(items, trainers, longer)
    idx = {t: j for j, t in enumerate(res.trainer_ids)}
    assert res.share_longer[idx["L"]] == 1.0
    assert res.consensus_share[idx["L"]] == pytest.approx(0.5)
    assert res.excess[idx["L"]] == pytest.approx(0.5)
    assert res.excess[idx["A"]] == pytest.approx(0.0)
    assert res.p_values[idx["L"]] < 1e-10
    assert res.overall_consensus_share == pytest.approx(0.5)


def test_leniency_by_hand():
    # two items; T1 always 1 above the others, T2 and T3 agree
    items = [1, 1, 1, 2, 2, 2]
    trainers = ["T1", "T2", "T3"] * 2
    scores = [4.0, 3.0, 3.0, 6.0, 5.0, 5.0]
    res = leniency(items, trainers, scores)
    # T1: 4 - mean(3, 3) = 1 on both; T2: 3 - mean(4, 3) = -0.5 on both
    np.testing.assert_allclose(res.offsets, [1.0, -0.5, -0.5])
    assert res.n.tolist() == [2, 2, 2]


def test_leniency_t_test_on_simulated_severity():
    rng = np.random.default_rng(1)
    items = np.repeat(np.arange(100), 4)
    trainers = np.tile(np.arange(4), 100)
    scores = rng.normal(0, 1, items.size) + np.where(trainers == 3, -1.0, 0.0)
    res = leniency(items, trainers, scores)
    assert -1.3 < res.offsets[3] < -0.7 and res.p_values[3] < 1e-6
    assert np.all(np.abs(res.offsets[:3]) < 0.5)


def test_label_skew_tvd_and_chi_square():
    items = np.repeat(np.arange(60), 3)
    trainers = np.tile(["A", "B", "S"], 60)
    truth = np.arange(60) % 3
    labels = np.where(trainers == "S", 0, truth[items])
    res = label_skew(items, trainers, labels)
    s = res.trainer_ids.tolist().index("S")
    a = res.trainer_ids.tolist().index("A")
    np.testing.assert_allclose(res.distributions[s], [1, 0, 0])
    np.testing.assert_allclose(res.consensus_distributions[s], [1 / 3, 1 / 3, 1 / 3])
    assert res.tvd[s] == pytest.approx(2 / 3)
    assert res.tvd[a] == pytest.approx(0.0)
    assert res.p_values[s] < 1e-10 and res.p_values[a] == pytest.approx(1.0)
    custom = label_skew(items, trainers, labels, consensus={i: 0 for i in range(60)})
    assert custom.tvd[s] == pytest.approx(0.0)


def test_speed_flags_per_item_median():
    trainers = ["A", "B", "C", "R"] * 3
    items = np.repeat([1, 2, 3], 4)
    durations = np.array([10, 12, 11, 1, 100, 110, 90, 5, 50, 55, 45, 60], dtype=float)
    res = speed_flags(trainers, durations, items=items, fraction=0.25)
    idx = res.trainer_ids.tolist().index("R")
    # R is below a quarter of the item median on items 1 and 2, not on 3
    assert res.fast_share[idx] == pytest.approx(2 / 3)
    assert res.fast_share[res.trainer_ids.tolist().index("A")] == 0.0
    assert res.median_duration[idx] == 5.0
    glob = speed_flags(trainers, durations, fraction=0.25)
    assert glob.threshold[0] == pytest.approx(0.25 * np.median(durations))


def test_straight_lining_runs_and_entropy():
    trainers = ["A"] * 12 + ["B"] * 12
    labels = ["x"] * 12 + ["x", "y", "z"] * 4
    order = list(range(24))[::-1]  # sequence is by order key, not input order
    res = straight_lining(trainers, labels, order=order, min_run=10)
    assert res.longest_run.tolist() == [12, 1]
    assert res.entropy[0] == pytest.approx(0.0) and res.entropy[1] == pytest.approx(1.0)
    assert res.flagged.tolist() == [True, False]
    assert res.modal_share[0] == 1.0


def test_group_disagreement_detects_a_diverging_group():
    rng = np.random.default_rng(3)
    n = 80
    items = np.repeat(np.arange(n), 6)
    trainers = np.tile(np.arange(6), n)
    truth = rng.integers(0, 2, n)
    group_of = {t: ("US" if t < 4 else "IN") for t in range(6)}
    # the IN group systematically labels the opposite on items 0-39
    labels = truth[items].copy()
    flip = (trainers >= 4) & (items < 40)
    labels[flip] = 1 - labels[flip]
    res = group_disagreement(items, trainers, labels, group_of)
    g = res.groups.tolist()
    assert res.agreement_with_consensus[g.index("US")] == 1.0
    assert res.agreement_with_consensus[g.index("IN")] == pytest.approx(0.5)
    assert res.pairwise_agreement[g.index("US"), g.index("IN")] == pytest.approx(0.5)
    assert res.n.tolist() == [160, 320] if g == ["IN", "US"] else [320, 160]
    aligned = group_disagreement(items, trainers, labels, [group_of[t] for t in trainers])
    assert aligned.chi2 == pytest.approx(res.chi2)


def test_group_agreement_measures_each_group_against_the_consensus():
    # items 0-9; consensus "a" everywhere. Three PhDs always say "a"; one bachelor always "b".
    items = np.repeat(np.arange(10), 4)
    trainers = np.tile(np.array(["p1", "p2", "p3", "b1"]), 10)
    labels = np.where(trainers == "b1", "b", "a")
    group_of = {"p1": "phd", "p2": "phd", "p3": "phd", "b1": "bachelor"}
    res = group_agreement(items, trainers, labels, group_of, {i: "a" for i in range(10)})
    g = res.groups.tolist()
    phd, bachelor = g.index("phd"), g.index("bachelor")
    assert res.share[phd] == 1.0 and res.share[bachelor] == 0.0  # the lone dissenter is not 100%
    assert res.n[phd] == 30 and res.agree[phd] == 30 and res.n[bachelor] == 10 and res.agree[bachelor] == 0
    assert res.trainers.tolist()[phd] == 3 and res.trainers.tolist()[bachelor] == 1
    assert res.too_small.tolist()[phd] is False and res.too_small.tolist()[bachelor] is True
    assert res.low[bachelor] == 0.0 and 0.0 < res.high[bachelor] < 0.35   # Wilson, 0 of 10
    assert 0.85 < res.low[phd] < 1.0 and res.high[phd] == 1.0


def test_group_agreement_skips_items_without_consensus_and_checks_input():
    res = group_agreement([1, 1, 2], ["x", "y", "x"], ["a", "b", "a"], {"x": "g1", "y": "g2"}, {1: "a"},
                          min_trainers=1)
    g = res.groups.tolist()
    assert res.n.tolist()[g.index("g1")] == 1 and res.agree.tolist()[g.index("g1")] == 1
    assert res.share[g.index("g2")] == 0.0 and not res.too_small.any()
    empty = group_agreement([2], ["x"], ["a"], ["g1"], {})
    assert empty.n.tolist() == [0] and np.isnan(empty.share[0]) and np.isnan(empty.low[0])
    with pytest.raises(ValueError):
        group_agreement([1], ["x"], ["a"], ["g1"], {1: "a"}, min_trainers=0)
    with pytest.raises(ValueError):
        group_agreement([1, 2], ["x"], ["a"], ["g1"], {1: "a"})
