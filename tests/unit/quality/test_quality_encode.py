import numpy as np
import pytest

from expertloop.quality import encode_labels, factorize
from expertloop.quality.encode import lookup


def test_factorize_dense_ints_sorted():
    uniques, codes = factorize([7, 3, 7, 5, 3])
    assert uniques.tolist() == [3, 5, 7]
    assert codes.tolist() == [2, 0, 2, 1, 0]


def test_factorize_sparse_ints_uses_sort_path():
    values = np.array([10**12, -5, 10**12, 3])
    uniques, codes = factorize(values)
    assert uniques.tolist() == [-5, 3, 10**12]
    assert np.array_equal(uniques[codes], values)


def test_factorize_strings_and_mixed_types():
    uniques, codes = factorize(["b", "a", "b"])
    assert uniques.tolist() == ["a", "b"] and codes.tolist() == [1, 0, 1]
    mixed = np.array([1, "1", 1, None], dtype=object)
    uniques, codes = factorize(mixed)
    # not comparable: first-appearance order, and 1 != "1"
    assert uniques.tolist() == [1, "1", None]
    assert codes.tolist() == [0, 1, 0, 2]


def test_factorize_tuples_as_composite_ids():
    uniques, codes = factorize([("q1", 0), ("q1", 1), ("q1", 0)])
    assert len(uniques) == 2
    assert codes[0] == codes[2] != codes[1]


def test_lookup_marks_missing_and_does_not_confuse_types():
    uniques = np.array([1, 2, 3])
    assert lookup(uniques, [3, 1, 9]).tolist() == [2, 0, -1]
    assert lookup(uniques, np.array(["1"])).tolist() == [-1]
    assert lookup(uniques, [2.0]).tolist() == [1]


def test_encode_labels_gold_adds_unseen_class_and_ignores_unknown_items():
    enc = encode_labels(["a", "a", "b"], ["t1", "t2", "t1"], ["x", "y", "x"],
                        gold={"b": "z", "nope": "x"})
    assert enc.classes.tolist() == ["x", "y", "z"]
    assert enc.item_ids[enc.gold_items].tolist() == ["b"]
    assert enc.classes[enc.gold_labels].tolist() == ["z"]
    assert enc.n_items == 2 and enc.n_trainers == 2 and enc.n_classes == 3


def test_encode_labels_rejects_bad_input():
    with pytest.raises(ValueError):
        encode_labels([1, 2], [1], [1, 2])
    with pytest.raises(ValueError):
        encode_labels([], [], [])
    with pytest.raises(ValueError):
        encode_labels([1], [1], ["x"], classes=["y"])
    with pytest.raises(TypeError):
        encode_labels([1], [1], ["x"], gold=["x"])


def test_encode_labels_drops_missing_labels():
    enc = encode_labels(["a", "a", "b"], ["t1", "t2", "t1"], np.array(["x", None, "y"], dtype=object))
    assert enc.classes.tolist() == ["x", "y"]
    assert enc.items.size == 2 and enc.trainer_ids.tolist() == ["t1"]
    enc = encode_labels([1, 2, 3], [1, 1, 1], [0.0, np.nan, 1.0])
    assert enc.classes.tolist() == [0.0, 1.0] and enc.item_ids.tolist() == [1, 3]
