"""Adaptive overlap and cost-aware routing: hand-worked cases."""

import itertools

import numpy as np
import pytest

from expertloop.quality.adaptive import (
    AdaptiveOverlap,
    Tier,
    align_confusions,
    choose_tier,
    choose_tiers,
    escalate,
    expected_accuracy_gain,
    in_doubt_order,
    item_confidence,
    needs_more,
    one_coin_confusion,
    posterior_for_item,
    posteriors,
    shrink_confusions,
)

C90 = one_coin_confusion(0.9, 2)  # [[.9, .1], [.1, .9]]
C80 = one_coin_confusion(0.8, 2)


# -- posteriors ---------------------------------------------------------------


def test_two_agreeing_labels_from_a_90_percent_trainer():
    # P(1 | 1,1) = .9*.9 / (.9*.9 + .1*.1) = .81 / .82
    post = posterior_for_item([1, 1], C90)
    assert post == pytest.approx([0.01 / 0.82, 0.81 / 0.82])
    assert post[1] == pytest.approx(0.987804878, abs=1e-9)


def test_disagreeing_labels_cancel_and_prior_counts():
    assert posterior_for_item([0, 1], C90) == pytest.approx([0.5, 0.5])
    # no labels: the prior itself
    assert posterior_for_item([], C90, prior=[0.2, 0.8]) == pytest.approx([0.2, 0.8])
    # one label with prior (.2, .8): .2*.9 / (.2*.9 + .8*.1) = .18 / .26
    assert posterior_for_item([0], C90, prior=[0.2, 0.8])[0] == pytest.approx(0.18 / 0.26)


def test_each_label_uses_its_own_trainers_confusion():
    # a 90% trainer says 1, a 60% trainer says 0: .1*.6 vs .9*.4 -> P(1) = .36 / .42
    confs = np.stack([C90, one_coin_confusion(0.6, 2)])
    assert posterior_for_item([1, 0], confs)[1] == pytest.approx(0.36 / 0.42)


def test_posterior_is_computed_in_log_space():
    post = posterior_for_item([1] * 2000 + [0] * 1990, C90)
    assert np.isfinite(post).all()
    assert post[1] == pytest.approx(1.0)


def test_vectorised_posteriors_match_the_single_item_version():
    confs = np.stack([C90, C80, one_coin_confusion(0.6, 2)])
    items = [0, 0, 0, 1, 1, 3]
    labels = [1, 1, 0, 0, 1, 1]
    trainers = [0, 1, 2, 2, 0, 1]
    prior = [0.3, 0.7]
    got = posteriors(items, labels, trainers, confs, prior, n_items=4)
    for i in range(4):
        sel = [j for j, it in enumerate(items) if it == i]
        item_confs = confs[[trainers[j] for j in sel]]
        want = posterior_for_item([labels[j] for j in sel], item_confs, prior)
        assert got[i] == pytest.approx(want)
    assert got[2] == pytest.approx(prior)  # item without labels


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError):
        posterior_for_item([2], C90)  # class code out of range
    with pytest.raises(ValueError):
        posterior_for_item([0, 1], np.stack([C90]))  # one matrix for two labels
    with pytest.raises(ValueError):
        posterior_for_item([0], [[0.9, 0.2], [0.1, 0.9]])  # row does not sum to 1


# -- confidence and stopping rule ---------------------------------------------


def test_item_confidence_is_the_max_posterior():
    assert item_confidence([[0.2, 0.8], [0.6, 0.4]]) == pytest.approx([0.8, 0.6])


def test_needs_more_min_max_and_target_edges():
    probas = np.array([
        [0.99, 0.01],  # confident but below min
        [0.99, 0.01],  # confident, at min: done
        [0.95, 0.05],  # exactly at target: done
        [0.94, 0.06],  # below target, under max: more
        [0.60, 0.40],  # below target, at max: stop (escalate)
        [0.60, 0.40],  # below target, over max: stop
    ])
    n = np.array([1, 2, 2, 4, 5, 6])
    got = needs_more(probas, n, min_judgments=2, max_judgments=5, target_confidence=0.95)
    assert got.tolist() == [True, False, False, True, False, False]
    # no cap: the unsettled items keep asking
    got = needs_more(probas, n, min_judgments=2, max_judgments=None, target_confidence=0.95)
    assert got.tolist() == [True, False, False, True, True, True]


def test_needs_more_rejects_inconsistent_settings():
    with pytest.raises(ValueError):
        needs_more([[0.5, 0.5]], [1], min_judgments=3, max_judgments=2)
    with pytest.raises(ValueError):
        needs_more([[0.5, 0.5]], [1], target_confidence=1.5)


def test_escalate_only_items_stuck_at_max():
    probas = np.array([[0.6, 0.4], [0.6, 0.4], [0.97, 0.03]])
    got = escalate(probas, [5, 4, 5], max_judgments=5, target_confidence=0.95)
    assert got.tolist() == [True, False, False]


def test_in_doubt_order_lowest_confidence_first():
    probas = np.array([[0.9, 0.1], [0.55, 0.45], [0.7, 0.3], [0.55, 0.45]])
    assert in_doubt_order(probas).tolist() == [1, 3, 2, 0]
    # equal confidence: fewer judgments first
    assert in_doubt_order(probas, n_judgments=[1, 4, 2, 3]).tolist() == [3, 1, 2, 0]
    mask = np.array([True, False, True, True])
    assert in_doubt_order(probas, mask=mask).tolist() == [3, 2, 0]


# -- expected accuracy gain -----------------------------------------------------


def test_gain_of_a_first_label_is_its_accuracy_minus_a_coin_flip():
    assert expected_accuracy_gain([0.5, 0.5], C90) == pytest.approx(0.4)


def test_gain_by_hand():
    # p = (.7, .3), 90% trainer:
    #   obs 0: max(.7*.9, .3*.1) = .63; obs 1: max(.7*.1, .3*.9) = .27 -> .90 - .70 = .20
    assert expected_accuracy_gain([0.7, 0.3], C90) == pytest.approx(0.20)
    # p = (.3, .7), 80% trainer, one label: max(.24,.14) + max(.06,.56) = .80 -> .10
    assert expected_accuracy_gain([0.3, 0.7], C80) == pytest.approx(0.10)
    # two labels, outcomes as counts (n0, n1): (2,0): max(.3*.64, .7*.04) = .192,
    # (1,1): max(.3*.32, .7*.32) = .224, (0,2): max(.3*.04, .7*.64) = .448 -> .864 - .7
    assert expected_accuracy_gain([0.3, 0.7], C80, n_labels=2) == pytest.approx(0.164)


def test_one_more_label_cannot_overturn_two_agreeing_ones():
    post = posterior_for_item([1, 1], C90)
    # obs 1: .9878*.9 ; obs 0: max(.0122*.9, .9878*.1) = .9878*.1 -> sum = .9878: no gain
    assert expected_accuracy_gain(post, C90) == 0.0
    # ... while three more can (0,0,0 flips it)
    assert expected_accuracy_gain(post, C90, n_labels=3) > 0.005


def test_gain_matches_brute_force_over_label_sequences():
    rng = np.random.default_rng(0)
    for k, n in [(2, 3), (3, 2), (4, 3)]:
        post = rng.dirichlet(np.ones(k))
        conf = np.array([rng.dirichlet(np.ones(k) + 3 * np.eye(k)[i]) for i in range(k)])
        total = 0.0
        for seq in itertools.product(range(k), repeat=n):
            joint = post * np.prod([conf[:, o] for o in seq], axis=0)
            total += joint.max()
        want = total - post.max()
        assert expected_accuracy_gain(post, conf, n_labels=n) == pytest.approx(want, abs=1e-12)
        assert want >= -1e-12


def test_gain_is_vectorised_over_items():
    probas = np.array([[0.5, 0.5], [0.7, 0.3], [1.0, 0.0]])
    assert expected_accuracy_gain(probas, C90) == pytest.approx([0.4, 0.2, 0.0])


# -- tiers and routing ------------------------------------------------------------


def test_cheap_tier_preferred_when_gains_are_equal():
    cheap = Tier("generalist", cost=2.0, accuracy=0.9)
    dear = Tier("specialist", cost=10.0, accuracy=0.9)
    assert choose_tier([0.5, 0.5], [dear, cheap]) is cheap
    # equal gain per dollar: a 60% tier gains .1 for $2, a perfect one .5 for $10
    # (.05 per $ each, up to rounding): the cheaper one, wherever it is listed
    weak = Tier("weak", cost=2.0, accuracy=0.6)
    perfect = Tier("perfect", cost=10.0, accuracy=1.0)
    assert choose_tier([0.5, 0.5], [perfect, weak], lookahead=1) is weak
    assert choose_tier([0.5, 0.5], [weak, perfect], lookahead=1) is weak
    # same gain and same cost: the first listed
    twin = Tier("other", cost=2.0, accuracy=0.9)
    assert choose_tier([0.5, 0.5], [cheap, twin]) is cheap
    assert choose_tier([0.5, 0.5], [twin, cheap]) is twin


def test_cheap_accurate_tier_wins_on_gain_per_dollar():
    # at (.5, .5): generalist .4 / $2 = .2 per $, specialist .45 / $10 = .045 per $
    gen = Tier("generalist", cost=2.0, accuracy=0.9)
    spec = Tier("specialist", cost=10.0, accuracy=0.95)
    assert choose_tier([0.5, 0.5], [gen, spec]) is gen


def test_expensive_accurate_tier_preferred_when_cheap_gain_is_tiny():
    # generalists near chance (55%): one label gains .05 ($2 -> .025/$), two gain
    # .05 too ($4 -> .0125/$); a 95% specialist gains .45 ($10 -> .045/$)
    gen = Tier("generalist", cost=2.0, accuracy=0.55)
    spec = Tier("specialist", cost=10.0, accuracy=0.95)
    assert expected_accuracy_gain([0.5, 0.5], gen.confusion_matrix(2)) == pytest.approx(0.05)
    assert choose_tier([0.5, 0.5], [gen, spec]) is spec


def test_no_tier_when_nothing_is_worth_it():
    gen = Tier("generalist", cost=2.0, accuracy=0.55)
    spec = Tier("specialist", cost=10.0, accuracy=0.95)
    assert choose_tier([1.0, 0.0], [gen, spec]) is None  # already certain: no gain
    # best is the specialist at .045 per $; a threshold above that buys nothing
    assert choose_tier([0.5, 0.5], [gen, spec], min_gain_per_dollar=0.05) is None
    assert choose_tier([0.5, 0.5], [gen, spec], min_gain_per_dollar=0.04) is spec


def test_lookahead_finds_value_a_single_label_cannot_show():
    post = posterior_for_item([1, 1], C90)
    tier = Tier("generalist", cost=1.0, confusion=C90)
    assert choose_tier(post, [tier], lookahead=1) is None
    assert choose_tier(post, [tier], lookahead=3) is tier


def test_choose_tiers_vectorised():
    gen = Tier("generalist", cost=2.0, accuracy=0.55)
    spec = Tier("specialist", cost=10.0, accuracy=0.95)
    probas = np.array([[0.5, 0.5], [1.0, 0.0]])
    assert choose_tiers(probas, [gen, spec]).tolist() == [1, -1]


def test_tier_with_a_confusion_matrix_and_validation():
    conf = np.array([[0.95, 0.05, 0.0], [0.1, 0.5, 0.4], [0.0, 0.4, 0.6]])
    t = Tier("g", cost=2.0, confusion=conf)
    assert t.confusion_matrix(3) is t.confusion
    with pytest.raises(ValueError):
        t.confusion_matrix(2)
    with pytest.raises(ValueError):
        Tier("x", cost=0.0, accuracy=0.9)
    with pytest.raises(ValueError):
        Tier("x", cost=1.0)  # neither accuracy nor confusion
    assert Tier("x", cost=1.0, accuracy=0.7).confusion_matrix(3) == pytest.approx(
        np.array([[0.7, 0.15, 0.15], [0.15, 0.7, 0.15], [0.15, 0.15, 0.7]])
    )


# -- shrinkage and alignment -------------------------------------------------------


def test_shrink_confusions_by_hand():
    confs = np.stack([np.eye(2), one_coin_confusion(0.5, 2)])
    # trainer 0: 2 judgments -> 1 per class; pool (1 judgment each way) = mean of the two
    got = shrink_confusions(confs, [2, 2], strength=20.0, pool=one_coin_confusion(0.5, 2))
    assert got[0, 0] == pytest.approx([(1 + 10) / 21, 10 / 21])
    assert got[1] == pytest.approx(one_coin_confusion(0.5, 2))
    assert shrink_confusions(confs, [2, 2], strength=0.0) == pytest.approx(confs)
    # a trainer with many judgments barely moves
    far = shrink_confusions(confs, [2e6, 2], strength=20.0)
    assert far[0] == pytest.approx(np.eye(2), abs=1e-4)


def test_shrink_confusions_within_groups():
    confs = np.stack([np.eye(2), np.eye(2), one_coin_confusion(0.6, 2), one_coin_confusion(0.6, 2)])
    got = shrink_confusions(confs, [4, 4, 4, 4], strength=5.0, groups=["a", "a", "b", "b"])
    assert got[0] == pytest.approx(np.eye(2))  # pooled with an identical trainer
    assert got[2] == pytest.approx(one_coin_confusion(0.6, 2))
    mixed = shrink_confusions(confs, [4, 4, 4, 4], strength=5.0)
    assert mixed[0, 0, 0] < 1.0


def test_align_confusions_uses_default_for_unknown_trainers():
    confs = np.stack([C90, C80])
    got = align_confusions(["b", "x", "a"], ["a", "b"], confs)
    assert got[0] == pytest.approx(C80)
    assert got[1] == pytest.approx((C90 + C80) / 2)
    assert got[2] == pytest.approx(C90)


# -- the per-submission decision -----------------------------------------------------


def test_adaptive_overlap_decide_sequence():
    rule = AdaptiveOverlap(min_judgments=1, max_judgments=3, target_confidence=0.95)
    assert rule.decide([1], C90) == "more"  # .9 < .95
    assert rule.decide([1, 1], C90) == "done"  # .9878
    assert rule.decide([1, 0], C90) == "more"
    assert rule.decide([1, 0, 1], C90) == "escalate"  # .9 at max
    no_esc = AdaptiveOverlap(min_judgments=1, max_judgments=3, target_confidence=0.95,
                             escalate=False)
    assert no_esc.decide([1, 0, 1], C90) == "done"
    strict = AdaptiveOverlap(min_judgments=3, max_judgments=5, target_confidence=0.95)
    assert strict.decide([1, 1], C90) == "more"  # confident, but under min


def test_adaptive_overlap_after_escalation():
    rule = AdaptiveOverlap(min_judgments=1, max_judgments=3, target_confidence=0.99,
                           max_senior_judgments=2)
    confs = np.stack([C90, C90, C90, one_coin_confusion(0.95, 2)])
    # three regular (1, 0, 1) + one senior 1: .9*.95 / (.9*.95 + .1*.05) = .9942 -> done
    assert rule.decide([1, 0, 1, 1], confs, n_senior=1) == "done"
    # senior disagrees: posterior falls back, another senior
    assert rule.decide([1, 0, 1, 0], confs, n_senior=1) == "escalate"
    confs5 = np.concatenate([confs, confs[-1:]])
    assert rule.decide([1, 0, 1, 0, 1], confs5, n_senior=2) == "done"  # senior cap


def test_decide_many_matches_decide_posterior():
    rule = AdaptiveOverlap(min_judgments=2, max_judgments=4, target_confidence=0.95)
    probas = np.array([[0.99, 0.01], [0.99, 0.01], [0.7, 0.3], [0.7, 0.3], [0.7, 0.3]])
    n_reg = np.array([1, 2, 3, 4, 0])
    n_sen = np.array([0, 0, 0, 0, 1])
    got = rule.decide_many(probas, n_reg, n_sen)
    want = [rule.decide_posterior(p, r, s) for p, r, s in zip(probas, n_reg, n_sen, strict=False)]
    assert got.tolist() == want == ["more", "done", "more", "escalate", "escalate"]


def test_route_stops_at_target_and_picks_by_gain_per_dollar():
    gen = Tier("generalist", cost=2.0, accuracy=0.55)
    spec = Tier("specialist", cost=10.0, accuracy=0.95)
    rule = AdaptiveOverlap(target_confidence=0.95, tiers=[gen, spec])
    assert rule.route([0.5, 0.5]) is spec
    assert rule.route([0.96, 0.04]) is None
    with pytest.raises(ValueError):
        AdaptiveOverlap().route([0.5, 0.5])
