"""Quality estimation for human judgments: aggregation, agreement, bias.

A self-contained numerical library (numpy + scipy only). Estimators follow the
scikit-learn conventions: parameters in the constructor, ``fit`` returns
``self``, fitted attributes end in ``_``, randomness comes from an explicit
``random_state`` (int seed or ``np.random.Generator``).

Categorical aggregators take long-format judgments -- three aligned arrays of
item ids, trainer ids and labels (any hashables) -- and an optional ``gold``
mapping of known labels::

    from expertloop.quality import DawidSkene
    ds = DawidSkene().fit(items, trainers, labels, gold={"item-7": "B"})
    ds.item_ids_, ds.labels_, ds.probas_, ds.confusions_
"""

from .agreement import Agreement, cohen_kappa, fleiss_kappa, krippendorff_alpha, percent_agreement
from .bayesian import BayesianDawidSkene
from .bias import (
    GroupAgreement,
    GroupDisagreement,
    LabelSkew,
    LengthBias,
    Leniency,
    PositionBias,
    SpeedFlags,
    StraightLining,
    group_agreement,
    group_disagreement,
    label_skew,
    length_bias,
    leniency,
    position_bias,
    speed_flags,
    straight_lining,
)
from .bradley_terry import BradleyTerry, CrowdBT, Pairs, rankings_to_pairs
from .continuous import MeanScore, MedianScore, ReliabilityWeightedScore, ScoreAggregator
from .dawid_skene import DawidSkene, OneCoinDawidSkene
from .encode import EncodedLabels, encode_labels, factorize
from .glad import GLAD
from .intervals import bootstrap_ci, wilson_interval
from .mace import MACE
from .majority_vote import MajorityVote, WeightedMajorityVote

__all__ = [
    "GLAD",
    "MACE",
    # adaptive overlap and routing
    "AdaptiveOverlap",
    # agreement
    "Agreement",
    # pairwise preferences
    "BayesianDawidSkene",
    "BradleyTerry",
    "CrowdBT",
    "DawidSkene",
    "EncodedLabels",
    "GroupAgreement",
    "GroupDisagreement",
    "LabelSkew",
    "LengthBias",
    "Leniency",
    # categorical aggregation
    "MajorityVote",
    "MeanScore",
    "MedianScore",
    "OneCoinDawidSkene",
    "Pairs",
    # bias diagnostics
    "PositionBias",
    "ReliabilityWeightedScore",
    # numeric scores
    "ScoreAggregator",
    "SpeedFlags",
    "StraightLining",
    "Tier",
    "WeightedMajorityVote",
    "bootstrap_ci",
    "choose_tier",
    "cohen_kappa",
    "encode_labels",
    "expected_accuracy_gain",
    # encoding
    "factorize",
    "fleiss_kappa",
    "group_agreement",
    "group_disagreement",
    "item_confidence",
    "krippendorff_alpha",
    "label_skew",
    "length_bias",
    "leniency",
    "needs_more",
    "percent_agreement",
    "position_bias",
    "posterior_for_item",
    "rankings_to_pairs",
    "speed_flags",
    "straight_lining",
    # intervals
    "wilson_interval",
]
from .adaptive import (
    AdaptiveOverlap,
    Tier,
    choose_tier,
    expected_accuracy_gain,
    item_confidence,
    needs_more,
    posterior_for_item,
)
