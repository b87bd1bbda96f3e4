import numpy as np
import pytest
from _quality_sim import accuracy, simulate_crowd

from expertloop.quality import DawidSkene, MajorityVote, OneCoinDawidSkene

# Three items, three trainers, two classes (x, y):
#   q1: A=x B=x C=y    q2: A=y B=y C=y    q3: A=x B=y C=x
DATA = np.array([("q1", "A", "x"), ("q1", "B", "x"), ("q1", "C", "y"),
                 ("q2", "A", "y"), ("q2", "B", "y"), ("q2", "C", "y"),
                 ("q3", "A", "x"), ("q3", "B", "y"), ("q3", "C", "x")])


def test_one_em_iteration_by_hand():
    # Start: vote shares q1 = (2/3, 1/3), q2 = (0, 1), q3 = (2/3, 1/3).
    # M-step with pseudo-count 1: prior = (4/3 + 1, 5/3 + 1) / 5 = (7/15, 8/15);
    # trainer A: true x -> (4/3 + 1, 0 + 1) / (10/3) = (7/10, 3/10),
    #            true y -> (2/3 + 1, 1 + 1) / (11/3) = (5/11, 6/11);
    # trainers B and C: true x -> (1/2, 1/2), true y -> (4/11, 7/11).
    # E-step, q1 (A=x, B=x, C=y): x ~ 7/15*7/10*1/2*1/2, y ~ 8/15*5/11*4/11*7/11
    # => P(q1 = x) = 9317/15717; q2 (all y): P(x) = 1331/5811.
    ds = DawidSkene(max_iter=1, smoothing=1.0).fit(DATA[:, 0], DATA[:, 1], DATA[:, 2])
    np.testing.assert_allclose(ds.probas_[:, 0], [9317 / 15717, 1331 / 5811, 9317 / 15717], rtol=1e-12)
    assert ds.labels_.tolist() == ["x", "y", "x"]
    assert ds.n_iter_ == 1
    # class prior after that E-step: (sum of posteriors + 1) / (3 items + 2)
    prior_x = (2 * 9317 / 15717 + 1331 / 5811 + 1) / 5
    np.testing.assert_allclose(ds.class_prior_, [prior_x, 1 - prior_x], rtol=1e-12)


def _reference_ds(items, trainers, labels, k, max_iter, smoothing, gold=None, one_coin=False):
    """Plain-loop Dawid-Skene, written for clarity, not speed."""
    n_i, n_t = items.max() + 1, trainers.max() + 1
    post = np.zeros((n_i, k))
    for i, lab in zip(items, labels, strict=False):
        post[i, lab] += 1
    post /= post.sum(axis=1, keepdims=True)

    def clamp(p):
        for i, lab in (gold or {}).items():
            p[i] = 0.0
            p[i, lab] = 1.0
        return p

    post = clamp(post)
    for _ in range(max_iter):
        prior = post.sum(axis=0) + smoothing
        prior /= prior.sum()
        if one_coin:
            right = np.zeros(n_t)
            total = np.zeros(n_t)
            for i, t, lab in zip(items, trainers, labels, strict=False):
                right[t] += post[i, lab]
                total[t] += 1
            skill = (right + smoothing) / (total + 2 * smoothing)
            conf = np.empty((n_t, k, k))
            for t in range(n_t):
                conf[t] = (1 - skill[t]) / (k - 1)
                np.fill_diagonal(conf[t], skill[t])
        else:
            conf = np.full((n_t, k, k), float(smoothing))
            for i, t, lab in zip(items, trainers, labels, strict=False):
                conf[t, :, lab] += post[i]
            conf /= conf.sum(axis=2, keepdims=True)
        logp = np.tile(np.log(prior), (n_i, 1))
        for i, t, lab in zip(items, trainers, labels, strict=False):
            logp[i] += np.log(conf[t, :, lab])
        post = np.exp(logp - logp.max(axis=1, keepdims=True))
        post = clamp(post / post.sum(axis=1, keepdims=True))
    return post


@pytest.mark.parametrize("one_coin", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_loop_reference(one_coin, seed):
    rng = np.random.default_rng(seed)
    k = 3
    items, trainers, labels, _ = simulate_crowd(n_items=40, per_item=4, accuracies=rng.uniform(0.3, 0.95, 8),
                                                k=k, seed=seed)
    # shuffle rows: the implementation must not rely on grouped input
    perm = rng.permutation(items.size)
    items, trainers, labels = items[perm], trainers[perm], labels[perm]
    gold = {3: 1, 7: 0} if seed == 2 else None
    cls = OneCoinDawidSkene if one_coin else DawidSkene
    model = cls(max_iter=7, tol=-np.inf, smoothing=0.1).fit(items, trainers, labels, gold=gold)
    ref = _reference_ds(items, trainers, labels, k, 7, 0.1, gold=gold, one_coin=one_coin)
    np.testing.assert_allclose(model.probas_, ref, atol=1e-6)
    assert model.n_iter_ == 7


def test_recovers_a_trainer_who_flips_labels():
    # Trainer F labels every item and is consistent but answers (true + 1) % 3;
    # two of four honest but noisy trainers (60 %) label each item too. Voting
    # is dragged off by F; Dawid-Skene learns F's confusion and reads it back.
    rng = np.random.default_rng(3)
    n, k = 400, 3
    truth = rng.integers(0, k, n)
    honest = np.argsort(rng.random((n, 4)), axis=1)[:, :2] + 1
    trainers = np.column_stack([np.zeros(n, dtype=int), honest]).ravel()
    items = np.repeat(np.arange(n), 3)
    t_items = truth[items]
    noisy = np.where(rng.random(items.size) < 0.6, t_items, (t_items + rng.integers(1, k, items.size)) % k)
    flipped = np.where(rng.random(items.size) < 0.95, (t_items + 1) % k, t_items)
    labels = np.where(trainers == 0, flipped, noisy)
    mv = MajorityVote().fit(items, trainers, labels)
    ds = DawidSkene().fit(items, trainers, labels)
    assert accuracy(mv, truth) < 0.55
    assert accuracy(ds, truth) > 0.85
    # the learnt confusion of F puts its mass one class off the diagonal
    c = ds.confusions_[0]
    assert np.all(np.argmax(c, axis=1) == (np.arange(3) + 1) % 3)
    np.testing.assert_allclose(ds.confusions_.sum(axis=2), 1.0)
    np.testing.assert_allclose(ds.probas_.sum(axis=1), 1.0)


def test_gold_clamping_changes_the_outcome():
    # Two cliques disagree: {A, B} say x where {C, D, E} say y, on every item.
    # Without gold the larger clique wins; two gold items showing that {A, B}
    # are right make DS trust them everywhere.
    n = 12
    items = np.repeat(np.arange(n), 5)
    trainers = np.tile(np.array(["A", "B", "C", "D", "E"]), n)
    labels = np.where(np.isin(trainers, ["A", "B"]), "x", "y")
    free = DawidSkene().fit(items, trainers, labels)
    assert set(free.labels_.tolist()) == {"y"}
    anchored = DawidSkene().fit(items, trainers, labels, gold={0: "x", 1: "x"})
    assert set(anchored.labels_.tolist()) == {"x"}
    np.testing.assert_allclose(anchored.probas_[:2], [[1, 0], [1, 0]])
    # C's confusion: on true x it says y
    c = anchored.confusions_[list(anchored.trainer_ids_).index("C")]
    assert c[0, 1] > 0.9


def test_beats_majority_vote_on_a_mixed_crowd_and_ranks_skills():
    acc = (0.95, 0.9, 0.85, 0.5, 0.45, 0.4, 0.35)
    items, trainers, labels, truth = simulate_crowd(n_items=500, per_item=5, accuracies=acc, k=4, seed=4)
    mv = MajorityVote().fit(items, trainers, labels)
    ds = DawidSkene().fit(items, trainers, labels)
    oc = OneCoinDawidSkene().fit(items, trainers, labels)
    assert accuracy(ds, truth) > accuracy(mv, truth) + 0.02
    assert accuracy(oc, truth) > accuracy(mv, truth) + 0.02
    np.testing.assert_allclose(oc.skills_, acc, atol=0.08)
    diag = np.einsum("tkk->tk", ds.confusions_).mean(axis=1)
    assert np.corrcoef(diag, acc)[0, 1] > 0.95


def test_converges_and_stops_early():
    items, trainers, labels, _ = simulate_crowd(seed=5)
    ds = DawidSkene(max_iter=500, tol=1e-8).fit(items, trainers, labels)
    assert 1 < ds.n_iter_ < 500
    assert np.isfinite(ds.log_likelihood_) and ds.log_likelihood_ < 0


def test_single_class_is_trivial():
    ds = DawidSkene().fit([1, 1, 2], ["a", "b", "a"], ["x", "x", "x"])
    assert ds.labels_.tolist() == ["x", "x"]
    np.testing.assert_allclose(ds.probas_, 1.0)
    np.testing.assert_allclose(ds.class_prior_, [1.0])
    np.testing.assert_allclose(ds.confusions_, 1.0)  # every trainer "right" about the one class


def test_diagonal_prior_resolves_a_lone_dissenter_against_unanimous_trainers():
    import numpy as np

    from expertloop.quality import DawidSkene

    rng = np.random.default_rng(0)
    items, trainers, labels = [], [], []
    for i in range(24):
        for t in range(3):
            items.append(i), trainers.append(t), labels.append("a")
        items.append(i), trainers.append(3), labels.append(str(rng.choice(["a", "b"])))
    args = (np.array(items), np.array(trainers), np.array(labels, dtype=object))
    plain = DawidSkene().fit(*args)
    assert plain.probas_.max(axis=1).min() < 0.8  # the flat ridge of the original model
    prior = DawidSkene(diagonal_prior=0.5).fit(*args)
    assert prior.probas_.max(axis=1).min() > 0.99
    assert set(prior.labels_) == {"a"}
    # the dissenter is recognised as the unreliable one
    acc = np.einsum("tkk->tk", prior.confusions_) @ prior.class_prior_
    assert acc[list(prior.trainer_ids_).index(3)] < 0.7 < acc[list(prior.trainer_ids_).index(0)]
