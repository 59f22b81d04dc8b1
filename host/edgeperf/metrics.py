"""Accuracy metrics as MLPerf Tiny defines them: pure functions on numpy arrays."""

from __future__ import annotations

import numpy as np


def top1(scores: np.ndarray, labels: np.ndarray) -> float:
    """Percentage of samples whose highest score is the label."""
    scores, labels = np.asarray(scores), np.asarray(labels)
    return float(100.0 * np.mean(np.argmax(scores, axis=1) == labels))


def binary_auc(scores: np.ndarray, positives: np.ndarray) -> float:
    """Area under the ROC curve: the probability that a positive outscores a negative (ties count half)."""
    scores = np.asarray(scores, dtype=np.float64)
    positives = np.asarray(positives).astype(bool)
    pos, neg = scores[positives], scores[~positives]
    if not len(pos) or not len(neg):
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    start = 0
    while start < len(scores):  # average ranks over ties
        end = start
        while end + 1 < len(scores) and sorted_scores[end + 1] == sorted_scores[start]:
            end += 1
        ranks[order[start:end + 1]] = (start + end) / 2 + 1
        start = end + 1
    return float((ranks[positives].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def one_vs_rest_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mean one-vs-rest AUC over the classes present, on outputs normalised to sum 1 (as the MLC runner does)."""
    scores = np.asarray(scores, dtype=np.float64)
    totals = scores.sum(axis=1, keepdims=True)
    normalised = np.divide(scores, totals, out=np.full_like(scores, 1.0 / scores.shape[1]), where=totals > 0)
    labels = np.asarray(labels)
    aucs = [binary_auc(normalised[:, c], labels == c) for c in range(scores.shape[1]) if 0 < np.sum(labels == c) < len(labels)]
    return float(np.mean(aucs)) if aucs else float("nan")
