import numpy as np
import pytest
from scipy.stats import kendalltau

from expertloop.quality import BradleyTerry, CrowdBT, rankings_to_pairs


def _simulate(n=60, m=6000, seed=0, tie_nu=None):
    rng = np.random.default_rng(seed)
    strength = rng.normal(0, 1.2, n)
    a = rng.integers(0, n, m)
    b = (a + rng.integers(1, n, m)) % n
    if tie_nu is None:
        win = rng.random(m) < 1 / (1 + np.exp(-(strength[a] - strength[b])))
        tie = np.zeros(m, dtype=bool)
    else:
        pa, pb = np.exp(strength[a]), np.exp(strength[b])
        pt = tie_nu * np.sqrt(pa * pb)
        u = rng.random(m) * (pa + pb + pt)
        win, tie = u < pa, u >= pa + pb
    return strength, np.where(win, a, b), np.where(win, b, a), tie


def test_two_items_by_hand():
    # a beat b three times, lost once: MLE of s_a - s_b is log(3)
    bt = BradleyTerry(alpha=1e-9).fit(["a", "a", "a", "b"], ["b", "b", "b", "a"])
    assert bt.item_ids_.tolist() == ["a", "b"]
    np.testing.assert_allclose(bt.scores_, [np.log(3) / 2, -np.log(3) / 2], atol=1e-5)
    np.testing.assert_allclose(bt.predict_proba(["a"], ["b"]), [0.75], atol=1e-6)
    assert bt.tie_strength_ == 0.0


def test_l2_prior_keeps_undefeated_item_finite():
    bt = BradleyTerry(alpha=0.1).fit(["a", "a", "b"], ["b", "c", "c"])
    assert np.all(np.isfinite(bt.scores_))
    assert bt.scores_[0] > bt.scores_[1] > bt.scores_[2]
    assert abs(bt.scores_.sum()) < 1e-9


def test_recovers_strength_order():
    strength, w, loser, _ = _simulate()
    bt = BradleyTerry().fit(w, loser)
    tau = kendalltau(bt.scores_, strength[bt.item_ids_])[0]
    assert tau > 0.9
    # log-strengths are on the natural scale
    np.testing.assert_allclose(np.std(bt.scores_), np.std(strength), rtol=0.1)


def test_davidson_ties_estimate_tie_parameter():
    strength, w, loser, tie = _simulate(tie_nu=0.8, seed=1)
    bt = BradleyTerry().fit(w, loser, ties=tie)
    assert abs(bt.tie_strength_ - 0.8) < 0.1
    assert kendalltau(bt.scores_, strength[bt.item_ids_])[0] > 0.85
    p = bt.predict_proba(bt.item_ids_[:1], bt.item_ids_[1:2])
    assert 0 < p[0] < 1
    with pytest.raises(KeyError):
        bt.predict_proba(["nope"], bt.item_ids_[:1])


def test_crowd_bt_downweights_adversarial_trainers():
    strength, w, loser, _ = _simulate(n=50, m=8000, seed=2)
    rng = np.random.default_rng(2)
    eta = np.array([0.95] * 6 + [0.2] * 4)  # four trainers mostly reverse the order
    trainers = rng.integers(0, eta.size, w.size)
    flip = rng.random(w.size) > eta[trainers]
    w2, l2 = np.where(flip, loser, w), np.where(flip, w, loser)
    bt = BradleyTerry().fit(w2, l2)
    crowd = CrowdBT().fit(w2, l2, trainers)
    tau_bt = kendalltau(bt.scores_, strength[bt.item_ids_])[0]
    tau_crowd = kendalltau(crowd.scores_, strength[crowd.item_ids_])[0]
    assert tau_crowd > tau_bt + 0.05
    np.testing.assert_allclose(crowd.reliabilities_, eta[crowd.trainer_ids_], atol=0.08)


def test_rankings_to_pairs():
    pairs = rankings_to_pairs([["a", "b", "c"], ["c", "a"], ["z"]])
    got = list(zip(pairs.winners.tolist(), pairs.losers.tolist(), pairs.rankings.tolist(), strict=False))
    assert got == [("a", "b", 0), ("a", "c", 0), ("b", "c", 0), ("c", "a", 1)]
    bt = BradleyTerry().fit(pairs.winners, pairs.losers)
    assert bt.scores_[list(bt.item_ids_).index("a")] > bt.scores_[list(bt.item_ids_).index("b")]
