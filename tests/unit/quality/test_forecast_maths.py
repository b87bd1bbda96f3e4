"""The forecast's maths: adaptive overlap simulated over draws of the pilot's trainers."""

from __future__ import annotations

import numpy as np
import pytest

from expertloop.quality.forecast import TrainerPool, _draw_trainers, accuracy_for_alpha, forecast, parse_target

FAST = {"n_draws": 20, "n_sim_items": 400}


def pool(accuracies, evidence=None, seconds=60.0, rate_cents=6000, k=2):
    n = len(accuracies)
    return TrainerPool.from_accuracies(accuracies, k, share=[1] * n, seconds=[seconds] * n,
                                       rate_cents=[rate_cents] * n, evidence=evidence)


def test_a_perfect_pool_needs_one_judgment_per_item():
    f = forecast(pool([1.0, 1.0, 1.0]), [0.5, 0.5], 100, "accuracy=0.99", **FAST)
    assert f.judgments == (100.0, 100.0, 100.0)
    assert f.accuracy[0] == pytest.approx(1.0)
    # 100 judgments of 60 s at $60.00 an hour: 100 hours... of minutes: 100 minutes, $100.00
    assert f.hours[0] == pytest.approx(100 / 60)
    assert f.cost_cents == (10000, 10000, 10000)


def test_noisier_pools_need_more_judgments():
    good = forecast(pool([0.9] * 4), [0.5, 0.5], 1000, "accuracy=0.95", **FAST)
    noisy = forecast(pool([0.75] * 4), [0.5, 0.5], 1000, "accuracy=0.95", **FAST)
    assert 1.0 < good.judgments_per_item[0] < noisy.judgments_per_item[0] <= 5.0
    assert good.accuracy[0] >= 0.95 - 1e-9
    assert good.cost_cents[0] < noisy.cost_cents[0]


def test_a_higher_target_costs_more():
    low = forecast(pool([0.85] * 4), [0.5, 0.5], 500, "accuracy=0.9", **FAST)
    high = forecast(pool([0.85] * 4), [0.5, 0.5], 500, "accuracy=0.99", **FAST)
    assert low.judgments[0] < high.judgments[0]


def test_money_is_integer_cents_and_intervals_are_ordered():
    f = forecast(pool([0.8, 0.7, 0.9], evidence=[30, 30, 30], seconds=47.3, rate_cents=4321),
                 [0.3, 0.7], 777, "accuracy=0.9", **FAST)
    assert all(type(c) is int for c in f.cost_cents)
    assert f.cost_cents[1] <= f.cost_cents[0] <= f.cost_cents[2]
    assert f.judgments[1] <= f.judgments[0] <= f.judgments[2]
    # cost follows time exactly: one rate for all, so cents = hours x rate
    assert f.cost_cents[0] == pytest.approx(f.hours[0] * 4321, abs=1)


def test_uncertain_trainers_widen_the_interval():
    sure = forecast(pool([0.8] * 3, evidence=[10_000] * 3), [0.5, 0.5], 1000, "accuracy=0.93", **FAST)
    unsure = forecast(pool([0.8] * 3, evidence=[10] * 3), [0.5, 0.5], 1000, "accuracy=0.93", **FAST)
    assert unsure.judgments[2] - unsure.judgments[1] > sure.judgments[2] - sure.judgments[1]


def test_same_seed_same_answer_and_another_seed_differs():
    p = pool([0.8, 0.7, 0.75], evidence=[40, 40, 40])
    a = forecast(p, [0.5, 0.5], 1000, "accuracy=0.9", random_state=7, **FAST)
    b = forecast(p, [0.5, 0.5], 1000, "accuracy=0.9", random_state=7, **FAST)
    c = forecast(p, [0.5, 0.5], 1000, "accuracy=0.9", random_state=8, **FAST)
    assert a == b
    assert a.judgments != c.judgments


def test_an_unreachable_target_says_so_and_buys_the_best_accuracy_there_is():
    f = forecast(pool([0.6] * 3), [0.5, 0.5], 100, "accuracy=0.99", max_judgments=3, **FAST)
    assert f.reach_probability == 0.0
    assert 2.0 < f.judgments_per_item[0] <= 3.0
    best = forecast(pool([0.6] * 3), [0.5, 0.5], 100, "accuracy=0.5", max_judgments=3, thresholds=[1.0], **FAST)
    assert f.accuracy[0] == pytest.approx(best.accuracy[0], abs=0.01) and f.accuracy[0] < 0.99


def test_min_judgments_is_respected():
    f = forecast(pool([1.0] * 3), [0.5, 0.5], 10, "accuracy=0.9", min_judgments=2, **FAST)
    assert f.judgments_per_item[0] == pytest.approx(2.0)


def test_trainers_are_drawn_by_share():
    # a slow trainer who does almost nothing barely moves the hours
    p = TrainerPool.from_accuracies([1.0, 1.0], 2, share=[999, 1], seconds=[60, 6000], rate_cents=[6000, 6000])
    f = forecast(p, [0.5, 0.5], 1000, "accuracy=0.9", max_judgments=1, **FAST)
    assert f.hours[0] == pytest.approx(1000 * (0.999 * 60 + 0.001 * 6000) / 3600, rel=0.5)
    assert f.hours[0] < 1000 * 6000 / 3600 / 10


@pytest.mark.parametrize("share", [
    [0.2, 0.2, 0.15, 0.15, 0.1, 0.1, 0.1],   # a repeat is unlikely: drawn by rejection
    [0.7, 0.1, 0.1, 0.05, 0.05],             # one trainer does most: Gumbel keys
])
def test_each_next_trainer_is_drawn_by_share_among_those_the_item_has_not_had(share):
    share = np.asarray(share) / np.sum(share)
    n, m = 60_000, 3
    who = _draw_trainers(np.random.default_rng(7), share, np.log(share), n, m)
    assert who.shape == (n, m)
    assert all(len(set(row)) == m for row in who[:2000])  # no item gets one trainer twice
    # the first two draws, pair by pair, against sequential drawing without replacement
    seen = np.zeros((share.size, share.size))
    np.add.at(seen, (who[:, 0], who[:, 1]), 1)
    for a in range(share.size):
        for b in range(share.size):
            want = 0.0 if a == b else share[a] * share[b] / (1 - share[a])
            assert seen[a, b] / n == pytest.approx(want, abs=4 * np.sqrt(want * (1 - want) / n) + 1e-9)


def test_alpha_target_is_turned_into_the_accuracy_it_needs():
    assert accuracy_for_alpha(0.7, [0.5, 0.5]) == pytest.approx(0.85)
    assert accuracy_for_alpha(1.0, [0.2, 0.8]) == pytest.approx(1.0)
    f = forecast(pool([0.85] * 4), [0.5, 0.5], 100, "alpha=0.7", **FAST)
    assert f.target == "alpha" and f.target_accuracy == pytest.approx(0.85)
    assert f.accuracy[0] >= 0.85 - 1e-9


def test_full_confusion_matrices_are_used():
    # trainers never confuse class 0 for 1 but often 1 for 0: an answer of 1 is certain
    conf = np.array([[[1.0, 0.0], [0.4, 0.6]]] * 3)
    p = TrainerPool(confusions=conf, share=[1, 1, 1], seconds=[60] * 3, rate_cents=[6000] * 3)
    # with class 0 common an answer of 0 is 0.96 sure: one judgment settles every item
    assert forecast(p, [0.9, 0.1], 1000, "accuracy=0.95", **FAST).judgments_per_item[0] == pytest.approx(1.0)
    # balanced classes: an answer of 0 is 0.71 sure, so items answered 0 need more
    assert forecast(p, [0.5, 0.5], 1000, "accuracy=0.95", **FAST).judgments_per_item[0] > 2.0


@pytest.mark.parametrize("text,message", [
    ("accuracy", "look like"), ("speed=0.9", "accuracy or alpha"), ("accuracy=abc", "number"),
    ("accuracy=1.5", "between 0 and 1"), ("alpha=0", "between 0 and 1"), ("accuracy=nan", "between"),
])
def test_bad_targets_are_refused_by_name(text, message):
    with pytest.raises(ValueError, match=message):
        parse_target(text)


def test_parse_target_accepts_both_separators():
    assert parse_target("accuracy=0.95") == ("accuracy", 0.95)
    assert parse_target("alpha:0.7") == ("alpha", 0.7)


def test_bad_pools_are_refused():
    with pytest.raises(ValueError, match="probability"):
        forecast(TrainerPool(confusions=np.ones((1, 2, 2)), share=[1], seconds=[1], rate_cents=[1]), [0.5, 0.5], 1)
    with pytest.raises(ValueError, match="share"):
        forecast(pool([0.9]).__class__(confusions=np.eye(2)[None], share=[1, 2], seconds=[1], rate_cents=[1]),
                 [0.5, 0.5], 1)
    with pytest.raises(ValueError, match="prior"):
        forecast(pool([0.9]), [1.0, 0.0, 0.0], 1)


def test_per_threshold_sums_match_stopping_item_by_item():
    # repeated confidences (0.85 after a disagreement, again) must not count an item twice
    from expertloop.quality.forecast import _per_threshold

    rng = np.random.default_rng(0)
    grid = np.unique(np.concatenate([np.linspace(0.5, 0.99, 50), [0.995, 1.0]]))
    conf = rng.choice([0.5, 0.85, 0.97, 0.994, 1.0], size=(50, 5))
    for min_j in (1, 2):
        vals = np.stack([np.broadcast_to(np.arange(1, 6), conf.shape), conf])
        fast = _per_threshold(grid, conf, min_j, vals)
        ok = (conf[None] >= grid[:, None, None] - 1e-12) & (np.arange(1, 6) >= min_j)
        stop = np.where(ok.any(axis=2), ok.argmax(axis=2), 4)
        brute = np.stack([(stop + 1).sum(1), conf[np.arange(50)[None], stop].sum(1)])
        np.testing.assert_allclose(fast, brute, atol=1e-9)


def test_correlated_errors_need_more_judgments_than_independent_ones():
    p = pool([0.8] * 5, evidence=[200] * 5)
    independent = forecast(p, [0.5, 0.5], 1000, "accuracy=0.93", **FAST)
    correlated = forecast(p, [0.5, 0.5], 1000, "accuracy=0.93", error_correlation=0.3, **FAST)
    assert correlated.judgments[0] > independent.judgments[0]
    assert correlated.accuracy[0] >= 0.93 - 1e-9 or correlated.reach_probability < 1
    with pytest.raises(ValueError, match="error_correlation"):
        forecast(p, [0.5, 0.5], 10, error_correlation=1.0)
