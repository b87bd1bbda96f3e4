import numpy as np
import pytest
from _quality_sim import accuracy, simulate_crowd

from expertloop.quality import MajorityVote, WeightedMajorityVote

# 3 items x 3 trainers, worked by hand:
#   q1: x x y  -> x (2 of 3)     q2: y y y -> y     q3: x y z -> 3-way tie
ITEMS = ["q1"] * 3 + ["q2"] * 3 + ["q3"] * 3
TRAINERS = ["A", "B", "C"] * 3
LABELS = ["x", "x", "y", "y", "y", "y", "x", "y", "z"]


def test_majority_vote_by_hand():
    mv = MajorityVote().fit(ITEMS, TRAINERS, LABELS)
    assert mv.item_ids_.tolist() == ["q1", "q2", "q3"]
    assert mv.classes_.tolist() == ["x", "y", "z"]
    np.testing.assert_allclose(mv.probas_, [[2 / 3, 1 / 3, 0], [0, 1, 0], [1 / 3, 1 / 3, 1 / 3]])
    # the 3-way tie goes to the first class without a random_state
    assert mv.labels_.tolist() == ["x", "y", "x"]
    assert mv.trainer_ids_.tolist() == ["A", "B", "C"]


def test_majority_vote_random_ties_are_reproducible_and_only_among_tied():
    seen = set()
    for seed in range(30):
        lab = MajorityVote(random_state=seed).fit_predict(ITEMS, TRAINERS, LABELS)
        assert lab[:2].tolist() == ["x", "y"]  # untied items never change
        seen.add(lab[2])
        again = MajorityVote(random_state=seed).fit_predict(ITEMS, TRAINERS, LABELS)
        assert again.tolist() == lab.tolist()
    assert seen == {"x", "y", "z"}
    rng = np.random.default_rng(0)
    assert MajorityVote(random_state=rng).fit_predict(ITEMS, TRAINERS, LABELS)[2] in {"x", "y", "z"}


def test_majority_vote_gold_overrides():
    mv = MajorityVote().fit(ITEMS, TRAINERS, LABELS, gold={"q1": "y"})
    assert mv.labels_.tolist()[0] == "y"
    np.testing.assert_allclose(mv.probas_[0], [0, 1, 0])


def test_weighted_vote_given_weights_by_hand():
    # C alone outweighs A + B on q1 with weight 3 vs 1 + 1
    wmv = WeightedMajorityVote(weights={"C": 3.0}).fit(ITEMS, TRAINERS, LABELS)
    assert wmv.labels_.tolist() == ["y", "y", "z"]
    np.testing.assert_allclose(wmv.weights_, [1.0, 1.0, 3.0])
    np.testing.assert_allclose(wmv.scores_[0], [2.0, 3.0, 0.0])


def test_weighted_vote_learns_to_trust_good_trainers():
    acc = (0.95, 0.95, 0.95, 0.4, 0.4, 0.4, 0.4)
    items, trainers, labels, truth = simulate_crowd(n_items=400, per_item=7, accuracies=acc, k=3, seed=1)
    mv = MajorityVote().fit(items, trainers, labels)
    wmv = WeightedMajorityVote(n_iter=3).fit(items, trainers, labels)
    assert accuracy(wmv, truth) > accuracy(mv, truth) + 0.02
    assert wmv.weights_[:3].min() > wmv.weights_[3:].max()
    assert np.all(wmv.accuracies_[:3] > 0.85)
    wawa = WeightedMajorityVote(weights="agreement").fit(items, trainers, labels)
    assert np.all((wawa.weights_ > 0) & (wawa.weights_ < 1))


def test_weighted_vote_rejects_unknown_mode():
    with pytest.raises(ValueError):
        WeightedMajorityVote(weights="magic").fit(ITEMS, TRAINERS, LABELS)
