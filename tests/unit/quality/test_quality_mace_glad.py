import numpy as np
import pytest
from _quality_sim import accuracy, simulate_crowd

from expertloop.quality import GLAD, MACE, MajorityVote


def _spammy_crowd(seed):
    """4 careful trainers (90 %) and 4 spammers who answer class 0 regardless."""
    rng = np.random.default_rng(seed)
    items, trainers, labels, truth = simulate_crowd(n_items=400, per_item=5, accuracies=(0.9,) * 4 + (0.9,) * 4,
                                                    k=3, seed=seed)
    spam = trainers >= 4
    labels = labels.copy()
    labels[spam] = np.where(rng.random(spam.sum()) < 0.9, 0, rng.integers(0, 3, spam.sum()))
    return items, trainers, labels, truth


@pytest.mark.parametrize("method", ["em", "vb"])
def test_mace_finds_spammers_and_beats_voting(method):
    items, trainers, labels, truth = _spammy_crowd(0)
    mv = MajorityVote().fit(items, trainers, labels)
    mace = MACE(method=method).fit(items, trainers, labels)
    assert accuracy(mace, truth) > accuracy(mv, truth) + 0.05
    assert accuracy(mace, truth) > 0.9
    assert mace.skills_[:4].min() > 0.8
    assert mace.skills_[4:].max() < 0.3
    # spammers' private distribution concentrates on class 0
    assert np.all(mace.spam_distributions_[4:, 0] > 0.8)
    np.testing.assert_allclose(mace.probas_.sum(axis=1), 1.0)
    np.testing.assert_allclose(mace.spam_distributions_.sum(axis=1), 1.0, atol=0.1 if method == "vb" else 1e-9)


def test_mace_gold_clamps():
    items, trainers, labels, truth = _spammy_crowd(1)
    gold = {i: int(truth[i]) for i in range(0, 400, 9)}
    mace = MACE().fit(items, trainers, labels, gold=gold)
    idx = np.searchsorted(mace.item_ids_, list(gold))
    assert mace.labels_[idx].tolist() == list(gold.values())
    assert np.all(mace.probas_[idx].max(axis=1) == 1.0)


def test_glad_weights_ability_and_flags_adversary():
    acc = (0.9, 0.9, 0.85, 0.6, 0.6, 0.1)  # the last one is right 10 % of the time
    items, trainers, labels, truth = simulate_crowd(n_items=400, per_item=5, accuracies=acc, k=2, seed=2)
    mv = MajorityVote().fit(items, trainers, labels)
    glad = GLAD().fit(items, trainers, labels)
    assert accuracy(glad, truth) > accuracy(mv, truth) + 0.03
    assert glad.skills_[5] < 0 < glad.skills_[3]
    assert glad.skills_[0] > glad.skills_[3]
    assert glad.easiness_.shape == glad.item_ids_.shape and np.all(glad.easiness_ > 0)
    assert glad.n_iter_ >= 2


def test_glad_gold_and_uniform_init():
    items, trainers, labels, truth = simulate_crowd(n_items=120, per_item=3, k=3, seed=6)
    gold = {0: int((truth[0] + 1) % 3)}
    glad = GLAD(init="uniform").fit(items, trainers, labels, gold=gold)
    assert glad.labels_[0] == gold[0]
    with pytest.raises(ValueError):
        GLAD(init="nope").fit(items, trainers, labels)
