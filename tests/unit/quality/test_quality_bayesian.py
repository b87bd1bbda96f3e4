"""BayesianDawidSkene: the consensus for one to three judgments per item.

Each property here is one the previous consensus (gold-clamped Dawid-Skene with
``diagonal_prior=0.5``) did not have; ``test_..._old_consensus_fails`` checks
that the scenario really separates the two.
"""

import numpy as np
import pytest
from _quality_sim import accuracy, simulate_crowd

from expertloop.quality import BayesianDawidSkene, DawidSkene, MajorityVote

OLD = {"diagonal_prior": 0.5}  # the consensus of expertloop 0.1


def _one_per_item(seed=1, n_items=800, k=4, n_trainers=30):
    """One judgment per item; each trainer's mistakes go to a favourite class (as real crowds do)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n_items)
    trainers = rng.integers(0, n_trainers, n_items)
    acc, favourite = rng.uniform(0.5, 0.9, n_trainers), rng.integers(0, k, n_trainers)
    labels = np.where(rng.random(n_items) < acc[trainers], truth, favourite[trainers])
    return np.arange(n_items), trainers, labels


def test_single_judgment_is_the_answer_without_gold():
    items, trainers, labels = _one_per_item()
    model = BayesianDawidSkene().fit(items, trainers, labels)
    assert (model.labels_ == labels).all()
    # and its confidence is the prior's, not certainty: nothing says who is right
    assert model.confidence_.max() < 0.9


def test_single_judgment_old_consensus_fails():
    items, trainers, labels = _one_per_item()
    old = DawidSkene(**OLD).fit(items, trainers, labels)
    assert (old.labels_ != labels).sum() > 20


def _gold_scenario(wrong_on_gold: bool):
    """Trainer "x" answers 10 gold items (all wrong, or all right), then item q alone."""
    items, trainers, labels, gold = [], [], [], {}
    for g in range(10):
        items.append(f"g{g}")
        trainers.append("x")
        labels.append("b" if wrong_on_gold else "a")
        gold[f"g{g}"] = "a"
    # a reliable trainer "y" is right on the same gold items
    for g in range(10):
        items.append(f"g{g}")
        trainers.append("y")
        labels.append("a")
    items += ["q", "r", "r"]
    trainers += ["x", "x", "y"]
    labels += ["a", "a", "b"]
    return np.array(items), np.array(trainers), np.array(labels), gold


def test_gold_evidence_against_a_trainer_moves_their_items():
    items, trainers, labels, gold = _gold_scenario(wrong_on_gold=True)
    model = BayesianDawidSkene().fit(items, trainers, labels, gold=gold)
    row = {q: i for i, q in enumerate(model.item_ids_)}
    classes = list(model.classes_)
    # alone on q, x keeps the answer (no one gave another) but the posterior says it is likely wrong
    assert model.labels_[row["q"]] == "a"
    assert model.probas_[row["q"], classes.index("a")] < 0.5
    assert model.confidence_[row["q"]] < 0.5
    # against the reliable y, x loses
    assert model.labels_[row["r"]] == "b"
    # and with x right on gold the same items go x's way, confidently
    model = BayesianDawidSkene().fit(*_gold_scenario(wrong_on_gold=False)[:3], gold=_gold_scenario(False)[3])
    row = {q: i for i, q in enumerate(model.item_ids_)}
    assert model.labels_[row["q"]] == "a" and model.confidence_[row["q"]] > 0.8
    assert model.labels_[row["r"]] == "a"


def test_gold_shows_reliability():
    items, trainers, labels, gold = _gold_scenario(wrong_on_gold=True)
    model = BayesianDawidSkene().fit(items, trainers, labels, gold=gold)
    rel = dict(zip(model.trainer_ids_, model.reliability_, strict=True))
    assert rel["x"] < 0.35 < 0.85 < rel["y"]


def test_label_is_one_a_trainer_gave():
    # three classes; trainer u always answers "s" when the truth is "n" and "r" when it is "s":
    # on q, u says "s" and a weak trainer says "r": the evidence points at "n", which nobody gave
    items, trainers, labels = [], [], []
    rng = np.random.default_rng(0)
    gold = {}
    for i in range(60):
        truth = ["s", "r", "n"][i % 3]
        gold[f"g{i}"] = truth
        u_says = {"n": "s", "s": "r", "r": "n"}[truth]
        items += [f"g{i}", f"g{i}"]
        trainers += ["u", "v"]
        labels += [u_says, truth if rng.random() < 0.5 else str(rng.choice(["s", "r", "n"]))]
    items += ["q", "q"]
    trainers += ["u", "v"]
    labels += ["s", "r"]
    items, trainers, labels = np.array(items), np.array(trainers), np.array(labels)
    model = BayesianDawidSkene().fit(items, trainers, labels, gold=gold)
    row = list(model.item_ids_).index("q")
    classes = list(model.classes_)
    assert classes[int(np.argmax(model.probas_[row]))] == "n"   # the model believes "n" ...
    assert model.labels_[row] in ("s", "r")                       # ... but answers one that was given
    assert model.confidence_[row] == pytest.approx(model.probas_[row, classes.index(model.labels_[row])])
    old = DawidSkene(**OLD).fit(items, trainers, labels, gold=gold)
    assert old.labels_[list(old.item_ids_).index("q")] == "n"


def test_reliability_interval_contains_the_truth():
    acc = np.array([0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5] * 2)
    items, trainers, labels, _truth = simulate_crowd(n_items=1500, per_item=3, accuracies=acc, k=3, seed=4)
    model = BayesianDawidSkene().fit(items, trainers, labels)
    true = acc[model.trainer_ids_]
    low, high = model.reliability_interval_.T
    assert (low <= model.reliability_).all() and (model.reliability_ <= high).all()
    # the intervals treat the fitted consensus as known, so they run a little narrow: 16 of 20 here
    assert np.mean((low <= true) & (true <= high)) >= 0.75
    from scipy.stats import spearmanr
    assert spearmanr(model.reliability_, true)[0] > 0.9


def test_calibrated_on_a_synthetic_crowd():
    # independent errors, 1-3 judgments per item: the posterior of the answer means what it says
    rng = np.random.default_rng(7)
    acc = rng.uniform(0.55, 0.95, 40)
    confs, right = [], []
    for seed in range(4):
        items, trainers, labels, truth = simulate_crowd(n_items=1500, per_item=3, accuracies=acc, k=3, seed=seed)
        keep = rng.random(items.size) < 0.7
        model = BayesianDawidSkene(error_correlation=0.0).fit(items[keep], trainers[keep], labels[keep])
        confs.append(model.confidence_)
        right.append(model.labels_ == truth[model.item_ids_])
    conf, ok = np.concatenate(confs), np.concatenate(right)
    bins = np.minimum((conf * 10).astype(int), 9)
    ece = sum(abs(conf[bins == b].mean() - ok[bins == b].mean()) * (bins == b).mean()
              for b in range(10) if (bins == b).any())
    assert ece < 0.05


def test_as_good_as_majority_vote_with_two_or_three_judgments():
    acc = (0.9, 0.85, 0.8, 0.6, 0.55, 0.5, 0.45, 0.4)
    items, trainers, labels, truth = simulate_crowd(n_items=2000, per_item=2, accuracies=acc, k=4, seed=3)
    ours = accuracy(BayesianDawidSkene().fit(items, trainers, labels), truth)
    mv = accuracy(MajorityVote(random_state=0).fit(items, trainers, labels), truth)
    assert ours > mv + 0.02


def test_edge_cases():
    # one class seen
    m = BayesianDawidSkene().fit(["a", "b", "b"], ["x", "x", "y"], ["yes", "yes", "yes"])
    assert m.labels_.tolist() == ["yes", "yes"] and np.allclose(m.probas_, 1.0)
    assert m.confusions_.shape == (2, 1, 1) and m.reliability_interval_.shape == (2, 2)
    # a trainer with one judgment, gold on an item nobody else judged, a gold label nobody gave
    m = BayesianDawidSkene().fit(["a", "a", "b", "c"], ["x", "y", "x", "z"], ["p", "q", "p", "p"],
                                 gold={"c": "r"})
    row = dict(zip(m.item_ids_, range(3), strict=True))
    assert m.labels_[row["c"]] == "r" and set(m.classes_) == {"p", "q", "r"}
    assert m.probas_.shape == (3, 3) and np.allclose(m.probas_.sum(axis=1), 1.0)
    assert m.confusions_.shape == (3, 3, 3) and np.allclose(m.confusions_.sum(axis=2), 1.0)
    assert m.class_prior_.shape == (3,) and list(m.n_judgments_) == [2, 1, 1]
    # bad parameters are named
    with pytest.raises(ValueError, match="prior_accuracy"):
        BayesianDawidSkene(prior_accuracy=1.5).fit(["a"], ["x"], ["p"])
    with pytest.raises(ValueError, match="error_correlation"):
        BayesianDawidSkene(error_correlation=-1).fit(["a"], ["x"], ["p"])


def test_platform_consensus_reports_the_chosen_label_and_reliability_intervals():
    from expertloop.services.consensus import (
        ProjectJudgments,
        fit_consensus,
        trainer_reliability,
        trainer_reliability_interval,
    )

    data = ProjectJudgments()
    for k in range(12):  # trainer 1 wrong on every gold claim, trainer 2 right
        for expert, verdict in ((1, "refuted"), (2, "supported")):
            data.keys.append(f"{k}:0")
            data.item_ids.append(k)
            data.experts.append(expert)
            data.labels.append(verdict)
        data.gold[f"{k}:0"] = "supported"
    for expert, verdict in ((1, "supported"), (3, "refuted")):  # a claim judged both ways
        data.keys.append("99:0")
        data.item_ids.append(99)
        data.experts.append(expert)
        data.labels.append(verdict)
    data.keys.append("98:0")  # a lone judgment by the unreliable trainer
    data.item_ids.append(98)
    data.experts.append(1)
    data.labels.append("supported")
    consensus = fit_consensus(data)
    assert consensus is not None
    assert consensus.label("99:0") in ("supported", "refuted")
    assert consensus.label("98:0") == "supported" and consensus.posterior("98:0") < 0.5
    row = consensus.index["98:0"]
    assert consensus.posterior("98:0") == pytest.approx(consensus.model.probas_[row].min())
    intervals = trainer_reliability_interval(consensus)
    plain = trainer_reliability(consensus)
    for expert, (mean, low, high, n) in intervals.items():
        assert low <= mean <= high and plain[expert] == (mean, n)
    assert intervals[1][2] < intervals[2][1]   # gold separates them, intervals and all
    assert intervals[1][0] < 0.3 < 0.8 < intervals[2][0]
    assert intervals[3][3] == 1 and intervals[3][2] - intervals[3][1] > 0.3  # one judgment: wide


def _correlated_crowd(seed, hard_share, n=3000, per=3, k=4, n_trainers=40, n_gold=300):
    """On "hard" items trainers are right half as often and their mistakes share one distractor."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n)
    hard = rng.random(n) < hard_share
    distractor = (truth + rng.integers(1, k, n)) % k
    acc = rng.uniform(0.6, 0.95, n_trainers)
    items = np.repeat(np.arange(n), per)
    trainers = np.argsort(rng.random((n, n_trainers)), axis=1)[:, :per].ravel()
    right = rng.random(items.size) < np.where(hard[items], acc[trainers] * 0.5, acc[trainers])
    wrong = np.where(hard[items], distractor[items], (truth[items] + rng.integers(1, k, items.size)) % k)
    labels = np.where(right, truth[items], wrong)
    return items, trainers, labels, truth, {int(i): int(truth[i]) for i in range(n_gold)}


def _ece(conf, ok):
    bins = np.minimum((conf * 10).astype(int), 9)
    return sum(abs(conf[bins == b].mean() - ok[bins == b].mean()) * (bins == b).mean()
               for b in range(10) if (bins == b).any())


def test_gold_estimates_how_much_errors_go_together():
    items, trainers, labels, truth, gold = _correlated_crowd(1, hard_share=0.3)
    fitted = BayesianDawidSkene().fit(items, trainers, labels, gold=gold)
    fixed = BayesianDawidSkene(gold_calibration=0).fit(items, trainers, labels, gold=gold)
    assert fitted.error_correlation_ >= 0.4 and fixed.error_correlation_ == 0.2
    rest = fitted.item_ids_ >= 300  # judged on the items without gold
    ok = fitted.labels_[rest] == truth[fitted.item_ids_[rest]]
    assert _ece(fitted.confidence_[rest], ok) < 0.08 < _ece(fixed.confidence_[rest], ok)
    # independent errors: gold finds little correlation
    items, trainers, labels, truth, gold = _correlated_crowd(1, hard_share=0.0)
    assert BayesianDawidSkene().fit(items, trainers, labels, gold=gold).error_correlation_ <= 0.15


def _skewed_crowd(seed=3, n_items=3000, per_item=3, n_trainers=40, rare=0.1):
    """Class 1 is rare (10% of items) but trainers name it on a fifth of class-0 items,
    so the label shares (about 27% class 1) misstate the class prior."""
    rng = np.random.default_rng(seed)
    truth = (rng.random(n_items) < rare).astype(int)
    items = np.repeat(np.arange(n_items), per_item)
    trainers = rng.integers(0, n_trainers, items.size)
    t = truth[items]
    flip = np.where(t == 0, rng.random(items.size) < 0.2, rng.random(items.size) < 0.05)
    return items, trainers, np.where(flip, 1 - t, t), truth


def test_class_prior_is_freed_when_the_judgments_contradict_the_label_shares():
    items, trainers, labels, truth = _skewed_crowd()
    free = BayesianDawidSkene().fit(items, trainers, labels)
    pinned = BayesianDawidSkene(select_class_prior=False).fit(items, trainers, labels)
    assert free.class_prior_selected_ == "free"
    assert pinned.class_prior_selected_ == "anchored"
    share = truth.mean()  # 0.116 in this draw; the label shares say 0.29
    assert abs(free.class_prior_[1] - share) < 0.03 < 0.1 < abs(pinned.class_prior_[1] - share)
    assert accuracy(free, truth) > accuracy(pinned, truth)


def test_class_prior_stays_anchored_when_the_likelihood_does_not_ask_for_more():
    # symmetric errors: the label shares are an unbiased class prior, freeing it gains nothing
    rng = np.random.default_rng(5)
    truth = rng.integers(0, 2, 300)
    items = np.repeat(np.arange(300), 3)
    trainers = rng.integers(0, 20, items.size)
    labels = np.where(rng.random(items.size) < 0.75, truth[items], 1 - truth[items])
    model = BayesianDawidSkene().fit(items, trainers, labels)
    assert model.class_prior_selected_ == "anchored"


def test_class_prior_stays_anchored_without_overlap():
    # one judgment per item: the class prior and the confusions cannot be told apart, and a freed
    # prior would only move the confidence of lone judgments on no evidence about anyone
    items, trainers, labels, _ = _skewed_crowd(per_item=1, n_items=20000)
    model = BayesianDawidSkene().fit(items, trainers, labels)
    assert model.class_prior_selected_ == "anchored"
    pinned = BayesianDawidSkene(select_class_prior=False).fit(items, trainers, labels)
    assert np.allclose(model.confidence_, pinned.confidence_)


def test_reported_confidence_is_less_sure_where_agreement_overstates_accuracy():
    # errors that go together, no gold: the untempered, self-counting posterior is too sure
    items, trainers, labels, truth, _ = _correlated_crowd(1, hard_share=0.3)
    new = BayesianDawidSkene().fit(items, trainers, labels)
    old = BayesianDawidSkene(consistent_confidence=False).fit(items, trainers, labels)
    np.testing.assert_array_equal(new.labels_, old.labels_)  # the decision is unchanged
    np.testing.assert_allclose(new.fit_probas_, old.probas_)
    ok = new.labels_ == truth[new.item_ids_]
    assert _ece(new.confidence_, ok) < _ece(old.confidence_, ok) - 0.02
    assert new.confidence_.mean() < old.confidence_.mean()
    np.testing.assert_allclose(new.probas_.sum(axis=1), 1.0)


def test_reported_confidence_needs_overlap_and_defers_to_gold():
    items, trainers, labels = _one_per_item()
    new = BayesianDawidSkene().fit(items, trainers, labels)
    old = BayesianDawidSkene(consistent_confidence=False).fit(items, trainers, labels)
    np.testing.assert_allclose(new.confidence_, old.confidence_)  # nothing to refit on
    items, trainers, labels, _truth, gold = _correlated_crowd(1, hard_share=0.3)
    new = BayesianDawidSkene().fit(items, trainers, labels, gold=gold)
    old = BayesianDawidSkene(consistent_confidence=False).fit(items, trainers, labels, gold=gold)
    assert new.error_correlation_ >= 0.4  # fitted on gold, which calibrates the plain posterior
    np.testing.assert_allclose(new.confidence_, old.confidence_)
