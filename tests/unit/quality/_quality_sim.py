"""Small simulated crowds shared by the quality tests."""

import numpy as np


def simulate_crowd(n_items=300, per_item=5, accuracies=(0.9,) * 5 + (0.6,) * 5, k=3, seed=0,
                   flip=()):
    """Items with uniform true classes; trainer t is right w.p. accuracies[t], else uniform error.

    Trainers listed in ``flip`` answer ``(true + 1) % k`` instead when right
    (a systematic confusion, informative for Dawid-Skene but poison for voting).
    """
    rng = np.random.default_rng(seed)
    acc = np.asarray(accuracies)
    n_t = acc.size
    truth = rng.integers(0, k, n_items)
    trainers = np.argsort(rng.random((n_items, n_t)), axis=1)[:, :per_item].ravel()
    items = np.repeat(np.arange(n_items), per_item)
    right = rng.random(items.size) < acc[trainers]
    wrong = (truth[items] + rng.integers(1, k, items.size)) % k
    labels = np.where(right, truth[items], wrong)
    for t in flip:
        mask = (trainers == t) & right
        labels[mask] = (truth[items[mask]] + 1) % k
    return items, trainers, labels, truth


def accuracy(model, truth):
    return float(np.mean(model.labels_ == truth[model.item_ids_]))
