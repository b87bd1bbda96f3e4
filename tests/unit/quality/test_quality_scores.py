import numpy as np

from expertloop.quality import MeanScore, MedianScore, ReliabilityWeightedScore


def test_mean_and_median_by_hand():
    items = ["a", "a", "a", "b", "b", "c"]
    trainers = [1, 2, 3, 1, 2, 3]
    scores = [1.0, 2.0, 9.0, 4.0, 6.0, np.nan]
    mean = MeanScore().fit(items, trainers, scores)
    assert mean.item_ids_.tolist() == ["a", "b"]  # c only had a NaN
    np.testing.assert_allclose(mean.scores_, [4.0, 5.0])
    assert mean.n_ratings_.tolist() == [3, 2]
    np.testing.assert_allclose(MedianScore().fit_predict(items, trainers, scores), [2.0, 5.0])


def test_reliability_weighted_recovers_offsets_and_noise():
    rng = np.random.default_rng(0)
    n_items, n_t = 300, 6
    true = rng.normal(5, 2, n_items)
    offset = np.array([1.5, -1.0, 0.0, 0.5, -0.5, -0.5])
    sd = np.array([0.3, 0.3, 0.3, 0.3, 0.3, 3.0])  # trainer 5 is noisy
    items = np.repeat(np.arange(n_items), 4)
    trainers = np.argsort(rng.random((n_items, n_t)), axis=1)[:, :4].ravel()
    scores = true[items] + offset[trainers] + rng.normal(0, sd[trainers])
    model = ReliabilityWeightedScore().fit(items, trainers, scores)
    mean = MeanScore().fit(items, trainers, scores)
    err_model = np.abs(model.scores_ - true - offset.mean()).mean()
    err_mean = np.abs(mean.scores_ - true - offset.mean()).mean()
    assert err_model < 0.5 * err_mean
    np.testing.assert_allclose(model.offsets_[:5], (offset - offset.mean())[:5], atol=0.15)
    assert abs(model.offsets_[5] - (offset - offset.mean())[5]) < 0.6  # noisy: wide error
    assert np.argmin(model.reliabilities_) == 5
    np.testing.assert_allclose(np.sqrt(model.variances_[:5]), 0.3, atol=0.1)
    assert 1 < model.n_iter_ <= 100
