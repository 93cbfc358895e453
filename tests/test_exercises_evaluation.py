"""Tests of genai_tf.exercises.evaluation, the self-checks of notebook 05 (evaluating generative
models): each passes the course's function and catches a typical mistake."""

import math

import numpy as np

from genai_tf import sample_quality as sq
from genai_tf.exercises import evaluation as checks


def test_frechet_check_passes_the_course_function_and_fails_an_elementwise_root():
    assert checks.frechet_distance(sq.frechet_distance)
    wrong = checks.frechet_distance(
        lambda m1, s1, m2, s2: np.sum((m1 - m2) ** 2) + np.trace(s1 + s2 - 2 * np.sqrt(np.abs(s1 * s2))))
    assert not wrong and "sqrtm" in wrong.message


def test_inception_score_check_passes_and_fails_without_exp():
    assert checks.inception_score(lambda p: sq.inception_score(p, num_splits=1)[0])
    assert not checks.inception_score(lambda p: math.log(sq.inception_score(p, num_splits=1)[0]))


def test_unbiased_mmd2_check_passes_and_fails_the_biased_statistic():
    assert checks.unbiased_mmd2(sq.polynomial_mmd2)

    def biased(x, y):
        def k(a, b):
            return (a @ b.T / x.shape[1] + 1) ** 3
        return k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean()

    result = checks.unbiased_mmd2(biased)
    assert not result and "diagonal" in result.message


def test_knn_precision_recall_check_passes_and_fails_swapped_outputs():
    assert checks.knn_precision_recall(sq.precision_recall)
    assert not checks.knn_precision_recall(lambda r, f, k: sq.precision_recall(r, f, k)[::-1])
    # counting a point as its own nearest neighbour (radius index k - 1) is caught
    assert not checks.knn_precision_recall(lambda r, f, k: sq.precision_recall(r, f, k - 1))


def test_checks_report_not_implemented():
    def stub(*args):
        raise NotImplementedError

    for check in (checks.frechet_distance, checks.inception_score, checks.unbiased_mmd2,
                  checks.knn_precision_recall):
        result = check(stub)
        assert not result and "not implemented" in result.message
