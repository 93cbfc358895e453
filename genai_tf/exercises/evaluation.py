"""Self-checks of notebook 05, evaluating generative models: Fréchet distance, Inception score,
unbiased MMD² and k-NN precision/recall.

Each check returns a :class:`~genai_tf.exercises.engine.CheckResult`, truthy only on a pass.
"""

from __future__ import annotations

import numpy as np

from genai_tf.exercises.engine import CheckResult, run_cases, seeded_rng


def frechet_distance(function) -> CheckResult:
    """Check ``function(mu1, sigma1, mu2, sigma2) -> float``, the Fréchet distance of Eq. (EVAL.6).

    The reference uses Tr((Σ1Σ2)^{1/2}) = Σ √λᵢ(Σ1Σ2): Σ1Σ2 is similar to the PSD matrix
    Σ1^{1/2}Σ2Σ1^{1/2}, so its eigenvalues are real and non-negative.
    """
    rng = seeded_rng(10)

    def spd(d):
        a = rng.normal(size=(d, d))
        return a @ a.T + 0.1 * np.eye(d)

    def reference(mu1, sigma1, mu2, sigma2):
        roots = np.sqrt(np.clip(np.linalg.eigvals(sigma1 @ sigma2).real, 0.0, None))
        return np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2 * roots.sum()

    shared = spd(4)
    cases = [(np.zeros(4), shared, np.zeros(4), shared),                       # identical: 0
             (np.ones(4), shared, np.ones(4) + [3.0, 0.0, -1.0, 0.5], shared),  # shifted: ‖Δμ‖²
             (np.array([1.0]), np.array([[4.0]]), np.array([-0.5]), np.array([[0.25]])),
             (rng.normal(size=5), spd(5), rng.normal(size=5), spd(5))]
    expected = [reference(*case) for case in cases]
    return run_cases("frechet_distance", lambda *case: np.asarray(function(*case), "float64").reshape(()),
                     cases, expected,
                     "‖μ1 − μ2‖² + Tr(Σ1) + Tr(Σ2) − 2 Tr((Σ1Σ2)^{1/2}): the square root is of the "
                     "matrix product (scipy.linalg.sqrtm), not of each entry, and keep its real part.",
                     rtol=1e-5, atol=1e-6)


def inception_score(function) -> CheckResult:
    """Check ``function(probabilities (n, C)) -> float``: exp(E_x KL(p(y|x) ‖ p(y))), Eq. (EVAL.10), one split.

    The reference is the equivalent form exp(H(p(y)) − E_x H(p(y|x))).
    """
    rng = seeded_rng(11)

    def reference(p):
        def entropy(q):
            return -np.sum(q * np.log(np.maximum(q, 1e-300)), axis=-1)
        return np.exp(entropy(p.mean(axis=0)) - entropy(p).mean())

    cases = [(np.eye(10)[np.arange(50) % 10],),                 # confident, all classes: 10
             (np.eye(10)[np.full(30, 3)],),                     # one class only: 1
             (np.full((20, 10), 0.1),),                         # every prediction uniform: 1
             (rng.dirichlet(np.full(10, 0.3), size=40),)]
    expected = [reference(p) for (p,) in cases]
    return run_cases("inception_score", lambda p: np.asarray(function(p), "float64").reshape(()),
                     cases, expected,
                     "p(y) is the mean of the rows; KL(p(y|x) ‖ p(y)) per row, averaged over rows, then "
                     "exp. Guard log(0) for one-hot rows: 0 · log 0 counts as 0.", rtol=1e-5, atol=1e-6)


def unbiased_mmd2(function) -> CheckResult:
    """Check ``function(x (m, d), y (n, d)) -> float``, the unbiased MMD² of Eq. (EVAL.8), KID's kernel.

    k(a, b) = (aᵀb / d + 1)³. The reference sums the kernel in explicit loops over i ≠ j.
    """
    rng = seeded_rng(12)

    def reference(x, y):
        d = x.shape[1]

        def k(a, b):
            return (a @ b / d + 1.0) ** 3

        m, n = len(x), len(y)
        xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
        yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
        xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
        return xx + yy - 2 * xy

    same = rng.normal(size=(6, 3))
    cases = [(rng.normal(size=(5, 3)), rng.normal(loc=0.5, size=(8, 3))),  # m ≠ n
             (same, same.copy()),                                          # identical sets: < 0
             (rng.normal(size=(7, 4)), rng.normal(scale=2.0, size=(4, 4)))]
    expected = [reference(x, y) for x, y in cases]
    return run_cases("unbiased_mmd2", lambda x, y: np.asarray(function(x, y), "float64").reshape(()),
                     cases, expected,
                     "leave out the diagonal k(xᵢ, xᵢ) of the within-set sums and divide them by "
                     "m(m − 1) and n(n − 1); the cross term keeps every pair and divides by m·n.",
                     rtol=1e-6, atol=1e-8)


def knn_precision_recall(function) -> CheckResult:
    """Check ``function(real (N, d), fake (M, d), k) -> (precision, recall)``, Eq. (EVAL.9).

    The reference computes every distance with ``scipy.spatial.distance.cdist``. Cases: identical
    sets (1, 1), a distant set (0, 0), a collapsed set (precision 1, recall low) and random sets.
    """
    from scipy.spatial import distance

    rng = seeded_rng(13)

    def inside(points, manifold, k):
        radii = np.sort(distance.cdist(manifold, manifold), axis=1)[:, k]  # column 0: itself
        return float(np.mean(np.any(distance.cdist(points, manifold) <= radii[None], axis=1)))

    real = rng.normal(size=(60, 2))
    cases = [(real, real.copy(), 3),
             (real, real + 50.0, 3),
             (real, np.repeat(real[:2], 10, axis=0) + rng.normal(scale=1e-3, size=(20, 2)), 3),
             (real, rng.normal(loc=0.7, scale=1.5, size=(40, 2)), 5)]
    expected = [[inside(fake, real, k), inside(real, fake, k)] for real, fake, k in cases]
    return run_cases("knn_precision_recall", lambda *case: np.asarray(function(*case), "float64").reshape(2),
                     cases, expected,
                     "a point's radius is the distance to its k-th nearest neighbour in its own set "
                     "(not counting itself); precision = share of fake points inside some real ball, "
                     "recall = share of real points inside some fake ball.", rtol=0, atol=1e-9)
