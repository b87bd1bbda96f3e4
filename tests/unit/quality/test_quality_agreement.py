import krippendorff
import numpy as np
import pytest

from expertloop.quality import (
    Agreement,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    percent_agreement,
)

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", p. 3:
# 4 coders x 12 units, "." = missing. Published: nominal .743, ordinal .815,
# interval .849, ratio .797.
NAN = np.nan
KRIPP_2011 = np.array([
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
])


@pytest.mark.parametrize("level,published", [("nominal", 0.743), ("ordinal", 0.815),
                                             ("interval", 0.849), ("ratio", 0.797)])
def test_alpha_on_published_example(level, published):
    ours = krippendorff_alpha(KRIPP_2011, level=level)
    ref = krippendorff.alpha(reliability_data=KRIPP_2011, level_of_measurement=level)
    assert ours.value == pytest.approx(ref, abs=1e-12)
    assert ours.value == pytest.approx(published, abs=5e-4)


def _long(matrix):
    raters, units = np.nonzero(~np.isnan(matrix))
    return units, raters, matrix[raters, units]


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
@pytest.mark.parametrize("seed", range(4))
def test_alpha_matches_reference_package_on_random_data_with_gaps(level, seed):
    rng = np.random.default_rng(seed)
    n_r, n_u = rng.integers(2, 9), rng.integers(10, 80)
    truth = rng.integers(0, 6, n_u)
    data = np.where(rng.random((n_r, n_u)) < 0.6, truth, rng.integers(0, 6, (n_r, n_u))).astype(float)
    if level == "interval":
        data += rng.normal(0, 0.3, data.shape)  # many distinct values
    data[rng.random(data.shape) < 0.35] = np.nan
    ref = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    assert krippendorff_alpha(data, level=level).value == pytest.approx(ref, abs=1e-10)
    units, raters, values = _long(data)
    perm = rng.permutation(units.size)
    long = krippendorff_alpha(items=units[perm], trainers=raters[perm], values=values[perm], level=level)
    assert long.value == pytest.approx(ref, abs=1e-10)


def test_alpha_string_labels_with_none_and_bootstrap():
    items = ["a", "a", "b", "b", "b", "c", "c", "d"]
    values = ["x", "x", "y", "y", None, "x", "y", "x"]
    res = krippendorff_alpha(items=items, values=values, n_boot=300, random_state=0)
    # coincidences: x-x 2, y-y 2, x-y 2 (unit c, both orders) over 6 pairable values
    # Do = 2/6, De = 2*n_x*n_y/(n(n-1)) = 2*3*3/30 -> alpha = 1 - (1/3)/(0.6) = 4/9
    assert res.value == pytest.approx(4 / 9)
    assert res.low <= res.value <= res.high
    again = krippendorff_alpha(items=items, values=values, n_boot=300, random_state=0)
    assert again == res
    assert float(res) == res.value


def test_fleiss_kappa_wikipedia_example():
    # Fleiss (1971)-style worked example: 10 items x 5 categories, 14 raters each -> 0.210
    table = np.array([
        [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
    ])
    assert fleiss_kappa(table).value == pytest.approx(0.20993, abs=1e-5)
    # same data in long format
    items, labels = [], []
    for i, row in enumerate(table):
        for j, c in enumerate(row):
            items += [i] * c
            labels += [j] * c
    assert fleiss_kappa(items=items, labels=labels).value == pytest.approx(0.20993, abs=1e-5)
    assert percent_agreement(table).value == pytest.approx(0.37802, abs=1e-5)


def test_percent_agreement_by_hand_and_ci():
    # item 1: 3 agree (3/3 pairs); item 2: 2 of 3 (1/3 pairs); item 3: single judgment, ignored
    res = percent_agreement(items=[1, 1, 1, 2, 2, 2, 3], labels=["a", "a", "a", "a", "b", "b", "a"],
                            n_boot=200, random_state=1)
    assert res.value == pytest.approx((1 + 1 / 3) / 2)
    assert 1 / 3 <= res.low <= res.value <= res.high <= 1


def test_cohen_kappa_by_hand():
    # 50 items: yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> po = .7, pe = .5, kappa = .4
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b).value == pytest.approx(0.4)
    # missing pairs are dropped
    assert cohen_kappa([*a, None], [*b, "yes"]).value == pytest.approx(0.4)


def test_weighted_cohen_kappa_by_hand():
    # 3-point scale, confusion [[2,1,0],[0,2,1],[0,0,2]] (rows rater a)
    a = [0, 0, 0, 1, 1, 1, 2, 2]
    b = [0, 0, 1, 1, 1, 2, 2, 2]
    # linear weights |i-j|: observed = 2/8; marginals a (3,3,2), b (2,3,3)
    expected_lin = sum(abs(i - j) * ra * cb for i, ra in enumerate([3, 3, 2])
                       for j, cb in enumerate([2, 3, 3])) / 64
    assert cohen_kappa(a, b, weights="linear").value == pytest.approx(1 - (2 / 8) / expected_lin)
    expected_q = sum((i - j) ** 2 * ra * cb for i, ra in enumerate([3, 3, 2])
                     for j, cb in enumerate([2, 3, 3])) / 64
    assert cohen_kappa(a, b, weights="quadratic").value == pytest.approx(1 - (2 / 8) / expected_q)
    with pytest.raises(ValueError):
        cohen_kappa(a, b, weights="cubic")


def test_perfect_and_chance_agreement():
    perfect = np.array([[1, 2, 3, 1], [1, 2, 3, 1]], dtype=float)
    assert krippendorff_alpha(perfect).value == pytest.approx(1.0)
    assert np.isnan(krippendorff_alpha(np.ones((3, 4))).value)
    assert isinstance(fleiss_kappa([[2, 0], [0, 2]]), Agreement)
    assert fleiss_kappa([[2, 0], [0, 2]]).value == pytest.approx(1.0)
