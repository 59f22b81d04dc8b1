"""Metrics against hand-computed cases."""

import math

import numpy as np

from edgeperf.metrics import binary_auc, one_vs_rest_auc, top1


def test_top1():
    assert abs(top1(np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]]), np.array([1, 1, 1])) - 200 / 3) < 1e-9


def test_binary_auc_hand_cases():
    assert binary_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.75
    assert binary_auc([1, 2, 3], [0, 1, 1]) == 1.0
    assert binary_auc([0.5, 0.5], [0, 1]) == 0.5  # a tie counts half
    assert math.isnan(binary_auc([0.5, 0.7], [1, 1]))


def test_one_vs_rest_auc_perfect_and_normalised():
    scores = np.array([[0.9, 0.1, 0.0], [0.1, 0.8, 0.1], [0.0, 0.2, 0.8], [0.0, 0.0, 0.0]])
    labels = np.array([0, 1, 2, 2])
    auc = one_vs_rest_auc(scores, labels)
    assert 0.8 < auc <= 1.0
    assert one_vs_rest_auc(scores[:3], labels[:3]) == 1.0
