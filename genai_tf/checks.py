"""Self-checks for the notebooks' exercises.

Each check calls the learner's function on cases with a known answer and returns a
:class:`CheckResult`: it prints ``PASS`` or what is wrong with a hint, and is truthy only on
a pass, so a notebook can ``assert checks.gaussian_kl(my_kl)``.
"""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
from keras import ops
from scipy import special


@dataclasses.dataclass
class CheckResult:
    name: str
    passed: bool
    message: str

    def __bool__(self):
        return self.passed

    def __repr__(self):
        return f"{'PASS' if self.passed else 'FAIL'} {self.name}: {self.message}"


def describe_error(error) -> str:
    """``"TypeName: message"`` on one line, without terminal colour codes, TensorFlow's
    ``{{node …}}`` prefixes and the "Arguments received by …" footer Keras appends: how the
    checks, and notebook 03's tour of broken listings, show an error."""
    message = re.sub(r"\x1b\[[0-9;]*m|\{\{.*?\}\}", "", str(error)).split("Arguments received")[0]
    return f"{type(error).__name__}: {' '.join(message.split())}"


def _numpy(value):
    return np.asarray(ops.convert_to_numpy(value), dtype="float64")


def _run(name, function, cases, expected, hint, rtol=1e-4, atol=1e-4, shape_hint=None):
    """Call ``function(*case)`` for each case and compare with ``expected[i]``.

    ``shape_hint`` replaces the default advice on a wrong shape (one value per example)."""
    for index, (case, want) in enumerate(zip(cases, expected)):
        try:
            got = _numpy(function(*case))
        except NotImplementedError:
            return CheckResult(name, False, "not implemented yet: replace the `raise NotImplementedError`.")
        except Exception as error:  # show the learner's error, not a traceback from here
            return CheckResult(name, False, f"raised {describe_error(error)}. Hint: {hint}")
        want = np.asarray(want, dtype="float64")
        if got.shape != want.shape:
            return CheckResult(
                name, False,
                f"case {index}: returned shape {got.shape}, expected {want.shape} "
                f"({shape_hint or 'one value per example: reduce over every axis but the batch axis'}).",
            )
        if not np.allclose(got, want, rtol=rtol, atol=atol):
            return CheckResult(
                name, False,
                f"case {index}: got {np.round(got, 4)}, expected {np.round(want, 4)}. Hint: {hint}",
            )
    return CheckResult(name, True, f"all {len(cases)} cases match.")


def _rng(seed=0):
    return np.random.default_rng(seed)


def gaussian_kl(function) -> CheckResult:
    """Check ``function(z_mean, z_log_var) -> (batch,)`` against KL(N(μ, σ²) ‖ N(0, I)), Eq. (VAE.4)."""
    rng = _rng(1)
    cases = [
        (np.zeros((2, 3), "float32"), np.zeros((2, 3), "float32")),
        (rng.normal(size=(4, 5)).astype("float32"), rng.normal(size=(4, 5)).astype("float32")),
    ]
    expected = [0.5 * np.sum(m**2 + np.exp(v) - v - 1.0, axis=-1) for m, v in cases]
    return _run("gaussian_kl", function, cases, expected,
                "½ Σ_j (μ_j² + exp(log σ_j²) − log σ_j² − 1), summed over the latent axis only.")


def bernoulli_nll(function) -> CheckResult:
    """Check ``function(images, logits) -> (batch,)`` against Eq. (AE.2), including large logits."""
    rng = _rng(2)
    images = rng.uniform(size=(3, 4, 4, 1)).astype("float32")
    logits = rng.normal(scale=3.0, size=(3, 4, 4, 1)).astype("float32")
    big = np.full((1, 2, 2, 1), 60.0, "float32")
    cases = [(images, logits), (np.zeros_like(big), big)]
    expected = []
    for x, logit in cases:
        log_p, log_not_p = -np.logaddexp(0.0, -logit.astype("float64")), -np.logaddexp(0.0, logit.astype("float64"))
        expected.append(-np.sum(x * log_p + (1 - x) * log_not_p, axis=(1, 2, 3)))
    return _run("bernoulli_nll", function, cases, expected,
                "work on logits: max(l,0) − l·x + log(1+exp(−|l|)) avoids log(0) when σ(l) rounds to 1.")


def gaussian_nll(function) -> CheckResult:
    """Check ``function(images, means, log_variance) -> (batch,)`` against Eq. (AE.1)."""
    rng = _rng(3)
    x = rng.uniform(size=(2, 3, 3, 1)).astype("float32")
    mu = rng.uniform(size=(2, 3, 3, 1)).astype("float32")
    cases = [(x, mu, 0.0), (x, mu, math.log(0.1))]
    expected = [np.sum(0.5 * ((a - b) ** 2 / math.exp(v) + v + math.log(2 * math.pi)), axis=(1, 2, 3))
                for a, b, v in cases]
    return _run("gaussian_nll", function, cases, expected,
                "don't forget the ½ log(2πσ²) constant per pixel.")


def reparameterize(function) -> CheckResult:
    """Check ``function(z_mean, z_log_var, epsilon) -> z`` is μ + σ·ε, Eq. (VAE.5)."""
    rng = _rng(4)
    cases = [tuple(rng.normal(size=(3, 2)).astype("float32") for _ in range(3))]
    expected = [m + np.exp(0.5 * v) * e for m, v, e in cases]
    return _run("reparameterize", function, cases, expected,
                "σ = exp(½ · log σ²), not exp(log σ²).")


def iwae_bound(function) -> CheckResult:
    """Check ``function(log_weights (k, batch)) -> (batch,)`` against log-mean-exp, Eq. (VAE.7)."""
    rng = _rng(5)
    cases = [(rng.normal(size=(7, 3)).astype("float32"),), (np.full((4, 2), -800.0, "float32"),)]
    expected = [special.logsumexp(w.astype("float64"), axis=0) - math.log(w.shape[0]) for (w,) in cases]
    return _run("iwae_bound", function, cases, expected,
                "use a log-sum-exp (subtract the max) so exp(−800) does not underflow to log 0.")


def pca_mse(function, train_images, test_images, latent_dim) -> CheckResult:
    """Check a learner's PCA reconstruction error against the course's SVD reference."""
    from genai_tf.metrics import pca_reconstruction_mse

    expected = [pca_reconstruction_mse(train_images, test_images, latent_dim)]
    return _run("pca_mse", lambda: np.asarray(function(train_images, test_images, latent_dim)),
                [()], expected, "centre with the TRAIN mean and project onto the top right-singular vectors.",
                rtol=1e-3, atol=1e-5)


def value_in_range(name, value, low, high, hint) -> CheckResult:
    """Check a learner's measured number (e.g. a test error) lies in ``[low, high]``."""
    value = float(value)
    if math.isfinite(value) and low <= value <= high:
        return CheckResult(name, True, f"{value:.4g} is in [{low:.4g}, {high:.4g}].")
    return CheckResult(name, False, f"{value:.4g} is outside [{low:.4g}, {high:.4g}]. Hint: {hint}")



def num_pixels(function) -> CheckResult:
    """Check ``function(image_shape) -> D``, the number of pixel values H·W·C (notebook 00)."""
    cases = [((28, 28, 1),), ((32, 32, 3),), ((8, 8, 1),)]
    expected = [784, 3072, 64]
    return _run("num_pixels", function, cases, expected,
                "multiply height, width and channels: math.prod(image_shape).", rtol=0, atol=0)


def digits_split_sizes(function) -> CheckResult:
    """Check ``function(seed, validation_fraction) -> (train, validation, test)`` sizes of ``digits``.

    The expected sizes follow the split documented in :func:`genai_tf.data.load_dataset`:
    test = round(0.15 · 1797) = 270, validation = round(fraction · 1527), train = the rest.
    """
    cases = [(0, 0.1), (7, 0.25)]
    expected = []
    for _, fraction in cases:
        validation = round(fraction * (1797 - 270))
        expected.append([1797 - 270 - validation, validation, 270])
    return _run("digits_split_sizes", lambda seed, fraction: np.asarray(function(seed, fraction)),
                cases, expected, "load with data.load_dataset('digits', seed=..., "
                "validation_fraction=...) and count the examples of each split.", rtol=0, atol=0)


def profile_switch(function) -> CheckResult:
    """Check ``function(profile, task)``: runs ``task()`` under ``GENAI_TF_PROFILE=profile``.

    It must return ``task()``'s value and leave the environment as it found it afterwards,
    even when ``task`` raises (notebook 00).
    """
    import os

    from genai_tf import config

    name = "profile_switch"
    saved = os.environ.get(config.PROFILE_ENV)

    def restored():
        return os.environ.get(config.PROFILE_ENV) == saved

    def pick():
        return config.pick(full="full value", smoke="smoke value")

    try:
        for profile in ("smoke", "full"):
            try:
                got = function(profile, pick)
            except NotImplementedError:
                return CheckResult(name, False, "not implemented yet: replace the `raise NotImplementedError`.")
            except Exception as error:  # e.g. os.environ[...] = None when it was unset
                return CheckResult(name, False, f"raised {describe_error(error)}. Hint: "
                                   "os.environ only holds strings; to restore an unset variable, "
                                   "delete it (os.environ.pop(name, None)).")
            if got != f"{profile} value":
                return CheckResult(name, False, f"under {profile!r}, config.pick returned {got!r}. "
                                   f"Hint: set os.environ[{config.PROFILE_ENV!r}] before calling task().")
            if not restored():
                return CheckResult(name, False, f"after the {profile!r} run, {config.PROFILE_ENV} is "
                                   f"{os.environ.get(config.PROFILE_ENV)!r}, not {saved!r} as before. "
                                   "Hint: save the old value and put it back (or delete the "
                                   "variable if it was unset).")

        def fails():
            raise KeyError("task failed")

        # Raise under a profile other than the current one (CI already runs under "smoke"),
        # so a profile that is not restored after the error is visible.
        try:
            function("full" if saved == "smoke" else "smoke", fails)
        except KeyError:
            pass
        else:
            return CheckResult(name, False, "an error inside task() was swallowed; let it propagate.")
        if not restored():
            return CheckResult(name, False, "when task() raises, the profile is not restored. "
                               "Hint: restore it in a `finally:` block.")
        return CheckResult(name, True, "switches the profile, returns task()'s value, and restores "
                           "the environment, also after an error.")
    finally:
        if saved is None:
            os.environ.pop(config.PROFILE_ENV, None)
        else:
            os.environ[config.PROFILE_ENV] = saved


def active_units(function) -> CheckResult:
    """Check ``function(z_means (N, latent_dim), threshold) -> count`` of active latent units.

    A unit u is active when Cov_x(E_q[z_u]) > threshold, i.e. the variance over examples of
    its posterior mean (Burda et al., 2016; notebook 02, exercise 4). The cases separate the
    variance from the standard deviation and from the uncentred second moment.
    """
    rng = _rng(6)
    spreads = np.array([1.0, 0.5, 0.05, 0.0, 0.2, 0.001])  # standard deviation of each unit
    offsets = np.array([0.0, 2.0, -1.5, 0.7, 0.0, 3.0])     # non-zero means, as encoders give
    z_means = (rng.standard_normal((2000, 6)) * spreads + offsets).astype("float32")
    cases = [(z_means, 0.01), (z_means, 0.1)]
    expected = [np.sum(np.var(z_means.astype("float64"), axis=0) > threshold)
                for _, threshold in cases]
    return _run("active_units", function, cases, expected,
                "take the variance over examples (axis 0) of each unit's posterior mean, "
                "not its standard deviation or mean square, and count those above threshold.",
                rtol=0, atol=0)


def equivalent_beta(function) -> CheckResult:
    """Check ``function(decoder_variance) -> β`` (notebook 02): times 2σ², the Gaussian decoder's
    loss ‖x − μ‖²/(2σ²) + KL is ‖x − μ‖² + 2σ²·KL, so β = 2σ² for every σ²."""
    variances = [0.01, 0.05, 0.3, 1.0, 4.0]
    return _run("equivalent_beta", lambda v: float(function(v)), [(v,) for v in variances], [2 * v for v in variances],
                "multiply ‖x − μ‖²/(2σ²) + KL by 2σ² so the squared error has weight 1; the KL's weight is β. "
                "It must hold for every σ², not one.", shape_hint="one number")


def discriminator_loss(function) -> CheckResult:
    """Check ``function(real_logits, fake_logits) -> (batch,)`` against Eq. (GAN.2), on logits.

    Includes logits of ±100, where log(sigmoid(l)) computed naively gives log 0 = -inf.
    """
    rng = _rng(6)
    cases = [
        (rng.normal(scale=3.0, size=(5, 1)).astype("float32"),
         rng.normal(scale=3.0, size=(5, 1)).astype("float32")),
        (np.array([[100.0], [-100.0], [0.0]], "float32"), np.array([[-100.0], [100.0], [0.0]], "float32")),
    ]
    expected = [np.logaddexp(0.0, -r.astype("float64")).reshape(-1)
                + np.logaddexp(0.0, f.astype("float64")).reshape(-1) for r, f in cases]
    return _run("discriminator_loss", function, cases, expected,
                "−log σ(l_real) − log(1 − σ(l_fake)) = softplus(−l_real) + softplus(l_fake); "
                "return one value per example, shape (batch,).")


def generator_nonsaturating_loss(function) -> CheckResult:
    """Check ``function(fake_logits) -> (batch,)`` against −log D(G(z)), Eq. (GAN.6), on logits."""
    rng = _rng(7)
    cases = [(rng.normal(scale=3.0, size=(6, 1)).astype("float32"),),
             (np.array([[-100.0], [100.0]], "float32"),)]
    expected = [np.logaddexp(0.0, -f.astype("float64")).reshape(-1) for (f,) in cases]
    return _run("generator_nonsaturating_loss", function, cases, expected,
                "−log σ(l) = softplus(−l); at l = −100 the answer is 100, not inf.")


def saturation_point(function) -> CheckResult:
    """Check ``function(ratio, minimax_loss, non_saturating_loss) -> D(G(z))`` (notebook 03).

    The answer is where ``ratio · |∂ minimax/∂l| = |∂ non-saturating/∂l|``. For the package's losses
    that is ``1 / (1 + ratio)``; the check also passes scaled losses, ``a·minimax`` and
    ``b·non-saturating``, whose answer ``b / (a·ratio + b)`` a closed form written for the package's
    losses misses: only gradients taken of the losses given (``tf.GradientTape``) get every case.
    """
    from genai_tf import losses

    def scaled(loss, factor):
        return lambda logits: factor * loss(logits)

    cases, expected = [], []
    for ratio, a, b in [(100.0, 1.0, 1.0), (10.0, 1.0, 1.0), (100.0, 3.0, 1.0), (50.0, 1.0, 2.0)]:
        cases.append((ratio, scaled(losses.generator_minimax_loss, a), scaled(losses.generator_nonsaturating_loss, b)))
        expected.append(b / (a * ratio + b))
    return _run("saturation_point", lambda *case: float(function(*case)), cases, expected,
                "differentiate the two loss functions you are given with tf.GradientTape (the check "
                "passes scaled losses, so a closed form for the package's losses is not enough), and find "
                "the logit where ratio·|g_minimax| = |g_non_saturating| with brentq; return σ(logit).",
                rtol=1e-3, atol=1e-6, shape_hint="one number, D(G(z)) in (0, 1)")


def optimal_discriminator(function) -> CheckResult:
    """Check ``function(x, mean_data, std_data, mean_model, std_model) -> D*(x)``, Eq. (GAN.3).

    The two densities are 1-D Gaussians. Includes far-tail points where both densities
    underflow to 0, so p_data / (p_data + p_g) must be computed in log space.
    """
    from scipy import stats

    def reference(x, m1, s1, m2, s2):
        return special.expit(stats.norm.logpdf(x, m1, s1) - stats.norm.logpdf(x, m2, s2))

    cases = [(np.linspace(-3.0, 4.0, 15), 0.0, 1.0, 1.5, 0.7),
             (np.array([-2.0, 0.0, 2.0]), 1.0, 1.0, 1.0, 1.0),
             (np.array([-40.0, 40.0]), 0.0, 1.0, 1.5, 0.7)]
    expected = [reference(*case) for case in cases]
    return _run("optimal_discriminator", function, cases, expected,
                "D* = p_data / (p_data + p_g) = sigmoid(log p_data − log p_g): use log densities "
                "(scipy.stats.norm.logpdf) so far-tail points don't give 0 / 0.")


def feature_reconstruction_nll(function) -> CheckResult:
    """Check ``function(real_features, reconstructed_features) -> (batch,)`` against Eq. (VAEGAN.2).

    −log N(Dis_l(x); Dis_l(x̃), I) without its constant: ½ Σ_j (Dis_l(x)_j − Dis_l(x̃)_j)², summed
    over every non-batch axis (the cases include flat features and (batch, h, w, c) maps).
    """
    rng = _rng(8)
    cases = [(rng.normal(size=(4, 6)).astype("float32"), rng.normal(size=(4, 6)).astype("float32")),
             (rng.normal(size=(3, 2, 2, 5)).astype("float32"),
              rng.normal(size=(3, 2, 2, 5)).astype("float32"))]
    expected = [0.5 * np.sum((a.astype("float64") - b) ** 2, axis=tuple(range(1, a.ndim)))
                for a, b in cases]
    return _run("feature_reconstruction_nll", function, cases, expected,
                "½ Σ (real − reconstructed)² over every axis but the batch axis; the Gaussian's "
                "½ log 2π per feature is a constant and is dropped.")


def conditional_elbo(function) -> CheckResult:
    """Check ``function(images, logits, z_mean, z_log_var) -> (batch,)``, a one-sample Eq. (CVAE.1).

    ELBO = log p(x | z, y) − KL(q(z | x, y) ‖ N(0, I)) with a Bernoulli decoder on ``logits``
    (Eq. AE.2) and the closed-form KL (Eq. VAE.4); the label y enters through the networks that
    produced the tensors. Includes logits of ±60, where log σ(l) computed naively is log 0.
    """
    rng = _rng(9)

    def case(batch, logit_scale):
        return (rng.uniform(size=(batch, 4, 4, 1)).astype("float32"),
                rng.normal(scale=logit_scale, size=(batch, 4, 4, 1)).astype("float32"),
                rng.normal(size=(batch, 3)).astype("float32"),
                rng.normal(scale=0.5, size=(batch, 3)).astype("float32"))

    cases = [case(5, 2.0), case(2, 60.0)]
    expected = []
    for images, logits, z_mean, z_log_var in cases:
        x, logit = images.astype("float64"), logits.astype("float64")
        log_px = -np.sum(x * np.logaddexp(0.0, -logit) + (1 - x) * np.logaddexp(0.0, logit), axis=(1, 2, 3))
        kl = 0.5 * np.sum(z_mean**2 + np.exp(z_log_var) - z_log_var - 1.0, axis=-1)
        expected.append(log_px - kl)
    return _run("conditional_elbo", function, cases, expected,
                "ELBO = −(Bernoulli NLL on logits, summed over pixels) − ½ Σ_j (μ_j² + σ_j² − log σ_j² − 1); "
                "mind the sign: the ELBO is a log-likelihood bound (negative), not a loss.")


# --- notebook 05: evaluating generative models ----------------------------------------------


def frechet_distance(function) -> CheckResult:
    """Check ``function(mu1, sigma1, mu2, sigma2) -> float``, the Fréchet distance of Eq. (EVAL.6).

    The reference uses Tr((Σ1Σ2)^{1/2}) = Σ √λᵢ(Σ1Σ2): Σ1Σ2 is similar to the PSD matrix
    Σ1^{1/2}Σ2Σ1^{1/2}, so its eigenvalues are real and non-negative.
    """
    rng = _rng(10)

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
    return _run("frechet_distance", lambda *case: np.asarray(function(*case), "float64").reshape(()),
                cases, expected,
                "‖μ1 − μ2‖² + Tr(Σ1) + Tr(Σ2) − 2 Tr((Σ1Σ2)^{1/2}): the square root is of the "
                "matrix product (scipy.linalg.sqrtm), not of each entry, and keep its real part.",
                rtol=1e-5, atol=1e-6)


def inception_score(function) -> CheckResult:
    """Check ``function(probabilities (n, C)) -> float``: exp(E_x KL(p(y|x) ‖ p(y))), Eq. (EVAL.10), one split.

    The reference is the equivalent form exp(H(p(y)) − E_x H(p(y|x))).
    """
    rng = _rng(11)

    def reference(p):
        def entropy(q):
            return -np.sum(q * np.log(np.maximum(q, 1e-300)), axis=-1)
        return np.exp(entropy(p.mean(axis=0)) - entropy(p).mean())

    cases = [(np.eye(10)[np.arange(50) % 10],),                 # confident, all classes: 10
             (np.eye(10)[np.full(30, 3)],),                     # one class only: 1
             (np.full((20, 10), 0.1),),                         # every prediction uniform: 1
             (rng.dirichlet(np.full(10, 0.3), size=40),)]
    expected = [reference(p) for (p,) in cases]
    return _run("inception_score", lambda p: np.asarray(function(p), "float64").reshape(()),
                cases, expected,
                "p(y) is the mean of the rows; KL(p(y|x) ‖ p(y)) per row, averaged over rows, then "
                "exp. Guard log(0) for one-hot rows: 0 · log 0 counts as 0.", rtol=1e-5, atol=1e-6)


def unbiased_mmd2(function) -> CheckResult:
    """Check ``function(x (m, d), y (n, d)) -> float``, the unbiased MMD² of Eq. (EVAL.8), KID's kernel.

    k(a, b) = (aᵀb / d + 1)³. The reference sums the kernel in explicit loops over i ≠ j.
    """
    rng = _rng(12)

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
    return _run("unbiased_mmd2", lambda x, y: np.asarray(function(x, y), "float64").reshape(()),
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

    rng = _rng(13)

    def inside(points, manifold, k):
        radii = np.sort(distance.cdist(manifold, manifold), axis=1)[:, k]  # column 0: itself
        return float(np.mean(np.any(distance.cdist(points, manifold) <= radii[None], axis=1)))

    real = rng.normal(size=(60, 2))
    cases = [(real, real.copy(), 3),
             (real, real + 50.0, 3),
             (real, np.repeat(real[:2], 10, axis=0) + rng.normal(scale=1e-3, size=(20, 2)), 3),
             (real, rng.normal(loc=0.7, scale=1.5, size=(40, 2)), 5)]
    expected = [[inside(fake, real, k), inside(real, fake, k)] for real, fake, k in cases]
    return _run("knn_precision_recall", lambda *case: np.asarray(function(*case), "float64").reshape(2),
                cases, expected,
                "a point's radius is the distance to its k-th nearest neighbour in its own set "
                "(not counting itself); precision = share of fake points inside some real ball, "
                "recall = share of real points inside some fake ball.", rtol=0, atol=1e-9)


# --- notebook 07: diffusion ------------------------------------------------------------------

_IMAGE_SHAPED = ("x_t has the image's shape: reshape the (batch,) schedule values to (batch, 1, 1, 1) "
                 "so they broadcast over each image, not along its last axis")


def _diffusion_images(rng, batch=3):
    return (rng.uniform(-1.0, 1.0, (batch, 4, 5, 1)).astype("float32"),
            rng.standard_normal((batch, 4, 5, 1)).astype("float32"))


def q_sample_from_betas(function) -> CheckResult:
    """Check ``function(clean, noise, betas, index) -> x_t``, Eq. (DM.2) with ᾱ_t = Π_{s≤t} (1 - β_s).

    ``betas`` is ``(T,)``; ``index`` holds code indices ``(batch,)``, where index i is the
    notebook's t = i + 1, so ᾱ at index i multiplies (1 - β) over indices 0 … i. The schedules
    are steep enough that the one-step formula or an off-by-one product is far off.
    """
    rng = _rng(14)
    cases = []
    for betas, index in ((np.linspace(0.05, 0.3, 8), np.array([0, 3, 7])),
                         (np.linspace(1e-4, 0.02, 1000), np.array([999, 10, 500])),
                         (np.full(5, 0.2), np.array([4, 4, 1, 0]))):
        clean, noise = _diffusion_images(rng, batch=len(index))
        cases.append((clean, noise, betas, index))
    expected = []
    for clean, noise, betas, index in cases:
        alpha_bar = np.cumprod(1.0 - betas)[index].reshape(-1, 1, 1, 1)
        expected.append(np.sqrt(alpha_bar) * clean + np.sqrt(1.0 - alpha_bar) * noise)
    return _run("q_sample_from_betas", function, cases, expected,
                "x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε with ᾱ at code index i = Π_{s=0}^{i} (1 − β_s) "
                "(np.cumprod(1 − betas)[index]): the product of every step so far, not one step's β, "
                "and the noise scale is the square root of 1 − ᾱ.", shape_hint=_IMAGE_SHAPED)


def predicted_clean(function) -> CheckResult:
    """Check ``function(noisy, predicted_noise, alpha_bar (batch,)) -> x̂_0``, Eq. (DM.3)."""
    rng = _rng(15)
    cases = []
    for alpha_bar in (np.array([0.99, 0.5, 0.02]), np.array([0.9999, 0.3, 0.001, 0.7])):
        clean, noise = _diffusion_images(rng, batch=len(alpha_bar))
        shaped = alpha_bar.reshape(-1, 1, 1, 1)
        noisy = (np.sqrt(shaped) * clean + np.sqrt(1.0 - shaped) * noise).astype("float32")
        cases.append((noisy, rng.standard_normal(noisy.shape).astype("float32"), alpha_bar))
    expected = [(noisy - np.sqrt(1.0 - a.reshape(-1, 1, 1, 1)) * eps) / np.sqrt(a.reshape(-1, 1, 1, 1))
                for noisy, eps, a in cases]
    return _run("predicted_clean", function, cases, expected,
                "solve x_t = √ᾱ x_0 + √(1 − ᾱ) ε for x_0: subtract √(1 − ᾱ) ε̂ (a square root, and a "
                "minus), then divide by √ᾱ (not by ᾱ).", shape_hint=_IMAGE_SHAPED)


def guided_noise(function) -> CheckResult:
    """Check ``function(conditional, unconditional, guidance) -> ε̃``, Eq. (DM.13): (1 + w) ε(x, y) - w ε(x, ∅)."""
    rng = _rng(16)
    conditional, unconditional = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
    cases = [(conditional, unconditional, w) for w in (0.0, 1.0, 3.0)]
    expected = [(1.0 + w) * c - w * u for c, u, w in cases]
    return _run("guided_noise", function, cases, expected,
                "ε̃ = (1 + w) ε(x, y) − w ε(x, ∅): w = 0 is the plain conditional prediction, and larger "
                "w moves *away* from the unconditional one. (Written with a scale s = 1 + w: "
                "ε(x, ∅) + s (ε(x, y) − ε(x, ∅)).)", shape_hint="ε̃ has the shape of ε")


def cosine_alpha_bars(function) -> CheckResult:
    """Check ``function(timesteps, offset) -> ᾱ (T,)``, Eq. (DM.9), for t = 1 … T.

    ᾱ_t = f(t)/f(0) with f(t) = cos²((t/T + s)/(1 + s) · π/2), and each β_t = 1 - ᾱ_t/ᾱ_{t-1}
    clipped to 0.999 (so ᾱ_T > 0). Compared with a relative tolerance only, so the clipped
    last value (about 10⁻⁵ for T = 10) counts.
    """
    cases = [(10, 0.008), (1000, 0.008), (50, 0.05)]
    expected = []
    for timesteps, offset in cases:
        f = np.cos((np.arange(timesteps + 1) / timesteps + offset) / (1 + offset) * np.pi / 2) ** 2
        expected.append(np.cumprod(1.0 - np.minimum(1.0 - f[1:] / f[:-1], 0.999)))
    return _run("cosine_alpha_bars", function, cases, expected,
                "f(t) = cos²((t/T + s)/(1 + s) · π/2) for t = 0 … T; return f(t)/f(0) for t = 1 … T, "
                "but build it from β_t = min(1 − f(t)/f(t − 1), 0.999), so the last ᾱ is not ≈ 0.",
                rtol=1e-6, atol=1e-12, shape_hint="one ᾱ per timestep t = 1 … T, not t = 0 … T")


def ddim_step(function) -> CheckResult:
    """Check ``function(noisy, predicted_noise, alpha_bar, alpha_bar_prev, eta, noise) -> x_{t'}``, Eq. (DM.12).

    Scalars ᾱ_t, ᾱ_{t'}; η = 0 (deterministic), 0.5 and 1 (σ² = β̃_t, DDPM's posterior variance
    when t' = t - 1), including a jump over many steps.
    """
    rng = _rng(17)
    cases = []
    for alpha_bar, alpha_bar_prev, eta in ((0.3, 0.5, 0.0), (0.3, 0.5, 1.0), (0.05, 0.9, 0.5), (0.6, 1.0, 1.0)):
        noisy, noise = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
        cases.append((noisy, rng.standard_normal((2, 3, 4)), alpha_bar, alpha_bar_prev, eta, noise))
    expected = []
    for noisy, epsilon, alpha_bar, alpha_bar_prev, eta, noise in cases:
        clean = (noisy - math.sqrt(1 - alpha_bar) * epsilon) / math.sqrt(alpha_bar)
        variance = eta**2 * (1 - alpha_bar_prev) / (1 - alpha_bar) * (1 - alpha_bar / alpha_bar_prev)
        expected.append(math.sqrt(alpha_bar_prev) * clean + math.sqrt(1 - alpha_bar_prev - variance) * epsilon
                        + math.sqrt(variance) * noise)
    return _run("ddim_step", function, cases, expected,
                "x̂_0 = (x_t − √(1 − ᾱ_t) ε̂)/√ᾱ_t; σ = η √((1 − ᾱ_t')/(1 − ᾱ_t)) √(1 − ᾱ_t/ᾱ_t'); "
                "x_t' = √ᾱ_t' x̂_0 + √(1 − ᾱ_t' − σ²) ε̂ + σ z. The σ² taken out of the ε̂ term is what "
                "the fresh noise σ z puts back.", shape_hint="x_t' has the shape of x_t")


# --- notebook 06: Wasserstein GANs ---------------------------------------------------------


def wasserstein_1d(function) -> CheckResult:
    """Check ``function(samples_p, samples_q) -> W₁`` (a float), Eq. (WGAN.1) in 1-D, on unsorted samples."""
    rng = _rng(18)
    cases = [(rng.normal(size=50), rng.normal(2.0, 0.5, size=50)), (rng.uniform(size=7), rng.uniform(size=7) + 0.3),
             (np.array([3.0, 0.0, 1.0]), np.array([0.0, 1.0, 3.0])), (rng.normal(size=40), 3.0 * rng.normal(size=40))]
    expected = [np.mean(np.abs(np.sort(p) - np.sort(q))) for p, q in cases]
    return _run("wasserstein_1d", function, cases, expected,
                "in 1-D the optimal plan matches the i-th smallest p with the i-th smallest q: sort both "
                "samples, then average |p_(i) − q_(i)|. Pairing them in their given order over-counts; "
                "|mean(p) − mean(q)| is only a lower bound.", shape_hint="one number, W₁ of the two samples")


def interpolation_weights(function) -> CheckResult:
    """Check ``function(batch_size, rng) -> α (batch,)`` draws one α ~ U[0, 1] per example, Eq. (WGAN.6).

    Rejects a normal draw (α outside [0, 1]), one α for the whole batch, and per-pixel weights.
    """
    from scipy import stats

    name = "interpolation_weights"
    try:
        alpha = _numpy(function(20_000, np.random.default_rng(19)))
    except NotImplementedError:
        return CheckResult(name, False, "not implemented yet: replace the `raise NotImplementedError`.")
    except Exception as error:
        return CheckResult(name, False, f"raised {describe_error(error)}. Hint: return rng.uniform(size=batch_size).")
    if alpha.shape != (20_000,):
        return CheckResult(name, False, f"returned shape {alpha.shape}, expected (20000,): one α per example "
                                        "(not per pixel, not one scalar for the batch).")
    if alpha.min() < 0.0 or alpha.max() > 1.0:
        return CheckResult(name, False, f"α ranges over [{alpha.min():.2f}, {alpha.max():.2f}]: outside [0, 1] the "
                                        "point x̂ leaves the segment between x and x̃, where the optimal critic's "
                                        "gradient need not have norm 1. Draw α ~ U[0, 1], not from a normal.")
    if np.std(alpha) < 1e-6:
        return CheckResult(name, False, "every α is the same: draw a fresh α for each example.")
    p_value = stats.kstest(alpha, "uniform").pvalue
    if p_value < 1e-4:
        return CheckResult(name, False, f"α in [0, 1] but not uniform (KS p = {p_value:.1e}, mean {alpha.mean():.3f}): "
                                        "every point of the segment must be equally likely to be penalised.")
    return CheckResult(name, True, f"one α per example, uniform on [0, 1] (KS p = {p_value:.2f}).")


def gradient_penalty(function) -> CheckResult:
    """Check ``function(gradients, weight) -> (batch,)`` against λ (‖g‖₂ − 1)², Eq. (WGAN.7).

    Includes norms below 1 (a one-sided penalty gives 0 there), a zero gradient (must be λ, finite)
    and 4-D image gradients (the norm is over every axis but the batch axis).
    """
    rng = _rng(20)
    images = rng.normal(scale=0.02, size=(3, 4, 4, 1))  # norms about 0.08: well below 1
    images[1] *= 100.0                                  # one above 1
    cases = [(images, 10.0), (np.zeros((2, 5)), 10.0), (rng.normal(size=(4, 6)), 2.5)]
    expected = [w * (np.sqrt(np.sum(g.reshape(len(g), -1) ** 2, axis=1)) - 1.0) ** 2 for g, w in cases]
    result = _run("gradient_penalty", function, cases, expected,
                  "λ (‖g‖₂ − 1)² with the norm over all of an example's axes: two-sided, so gradient "
                  "norms below 1 are penalised too, and a zero gradient costs exactly λ.", rtol=1e-4, atol=1e-5)
    if result:
        result.message += " (Is it also finite to differentiate at g = 0? losses.gradient_penalty adds 1e-12 inside √.)"
    return result


def wasserstein_critic_loss(function) -> CheckResult:
    """Check ``function(real_scores, fake_scores) -> (batch,)`` against f(x̃) − f(x), Eq. (WGAN.4).

    Scores are unbounded (no sigmoid), so cases include large ones.
    """
    rng = _rng(21)
    cases = [(rng.normal(scale=3.0, size=(5, 1)), rng.normal(scale=3.0, size=(5, 1))),
             (np.array([[40.0], [-7.0]]), np.array([[-25.0], [3.0]]))]
    expected = [(f - r).reshape(-1) for r, f in cases]
    return _run("wasserstein_critic_loss", function, cases, expected,
                "the critic minimises f(G(z)) − f(x) on raw scores: no sigmoid, no log (it is not a "
                "discriminator), and mind the sign: real images should score high.")


# --- notebook 04: measuring a CVAE (exercises 3 and 4) -----------------------------------------
class _LabelledSamples:
    """A stand-in CVAE whose samples carry their label in every pixel (value = label)."""

    num_classes = 10

    def generate(self, num_samples, seed=None, labels=None):
        labels = np.arange(num_samples) % self.num_classes if labels is None else np.asarray(labels).reshape(-1)
        return np.broadcast_to(labels.astype("float32").reshape(-1, 1, 1, 1), (len(labels), 4, 4, 1)).copy()


class _PixelReader:
    """A stand-in classifier: reads the label from the first pixel, and is wrong on every
    ``wrong_every``-th image (it says label + 1), so accuracies are known exactly."""

    def __init__(self, wrong_every=None):
        self.wrong_every = wrong_every

    def predict(self, images):
        labels = np.rint(np.asarray(images)[:, 0, 0, 0]).astype("int64")
        if self.wrong_every:
            wrong = np.arange(len(labels)) % self.wrong_every == 0
            labels = np.where(wrong, (labels + 1) % 10, labels)
        return labels


def class_accuracy(function) -> CheckResult:
    """Check ``function(model, classifier, digit, num_samples, seed) -> share`` (notebook 04,
    exercise 3) on a stand-in model and classifier whose answer is known: the classifier is
    wrong on every 4th image, so the share read as ``digit`` is 1 − ⌈n/4⌉/n."""
    cases = [(_LabelledSamples(), _PixelReader(wrong_every=4), digit, n, 0) for digit, n in [(3, 40), (7, 10), (0, 9)]]
    expected = [1.0 - math.ceil(n / 4) / n for (_, _, _, n, _) in cases]
    return _run("class_accuracy", lambda *case: float(function(*case)), cases, expected,
                "draw the samples with labels=np.full(num_samples, digit), then return the mean of "
                "classifier.predict(samples) == digit; a constant is not an answer.", shape_hint="one number")


class _StandInCVAE:
    """A stand-in CVAE with known codes: ``copies_label`` puts a scaled one-hot label in z and
    decodes the label *from z* (ignoring the y it is given); otherwise z is random style and the
    decoder draws the y it is given. Images carry their label in every pixel."""

    num_classes = 10

    def __init__(self, copies_label, latent_dim, seed):
        self.copies_label, self.latent_dim, self.rng = copies_label, latent_dim, _rng(seed)

    def encode(self, images, labels):
        labels = np.asarray(labels).reshape(-1)
        z_mean = self.rng.normal(scale=0.5, size=(len(labels), self.latent_dim))
        if self.copies_label:
            z_mean[:, :self.num_classes] += 3.0 * np.eye(self.num_classes)[labels]
        z_log_var = self.rng.normal(scale=0.3, size=z_mean.shape) - 1.0
        self.last = (z_mean, z_log_var)
        return z_mean.astype("float32"), z_log_var.astype("float32")

    def decode(self, latents, labels):
        latents = np.asarray(latents)
        shown = (np.argmax(latents[:, :self.num_classes], axis=1) if self.copies_label
                 else np.asarray(labels).reshape(-1))
        return np.broadcast_to(shown.astype("float32").reshape(-1, 1, 1, 1), (len(shown), 4, 4, 1)).copy()


def code_report(function) -> CheckResult:
    """Check ``function(model, images, labels, classifier) -> {"kl", "label_in_z", "swap_accuracy"}``
    (notebook 04, exercise 4) on two stand-in CVAEs with known answers.

    One copies the label into z and ignores the y it decodes with: the label is fully in z
    (``label_in_z`` near 1) and a swapped label is never obeyed (``swap_accuracy`` 0). The other's
    z is pure style (``label_in_z`` near chance when scored on the held-out half: a probe scored
    on the half it was fitted on would look far better than chance) and obeys every label
    (``swap_accuracy`` 1). ``kl`` is the mean of Eq. (VAE.4) over the images.
    """
    name = "code_report"
    labels = np.arange(200) % 10
    images = np.broadcast_to(labels.astype("float32").reshape(-1, 1, 1, 1), (200, 4, 4, 1)).copy()
    for copies_label in (True, False):
        model = _StandInCVAE(copies_label, latent_dim=40, seed=11 if copies_label else 12)
        try:
            report = function(model, images, labels, _PixelReader())
        except NotImplementedError:
            return CheckResult(name, False, "not implemented yet: replace the `raise NotImplementedError`.")
        except Exception as error:
            return CheckResult(name, False, f"raised {describe_error(error)}. Hint: encode with the true "
                                            "labels, fit the probe on one half of z_mean, decode with (y + 1) mod 10.")
        missing = {"kl", "label_in_z", "swap_accuracy"} - set(report)
        if missing:
            return CheckResult(name, False, f"the report lacks {sorted(missing)}.")
        kind = "a model that copies the label into z" if copies_label else "a model whose z is style only"
        z_mean, z_log_var = model.last
        kl = float(np.mean(0.5 * np.sum(z_mean**2 + np.exp(z_log_var) - z_log_var - 1.0, axis=1)))
        if not np.isclose(float(report["kl"]), kl, rtol=1e-3):
            return CheckResult(name, False, f"{kind}: kl = {float(report['kl']):.4g}, expected {kl:.4g}. Hint: the "
                                            "mean over images of Eq. (VAE.4), summed over the latent axis.")
        label_in_z, swap = float(report["label_in_z"]), float(report["swap_accuracy"])
        if copies_label and label_in_z < 0.9:
            return CheckResult(name, False, f"{kind}: label_in_z = {label_in_z:.3f}, expected near 1. Hint: fit "
                                            "a logistic regression from z_mean to y on one half, score on the other.")
        if not copies_label and label_in_z > 0.3:
            return CheckResult(name, False, f"{kind}: label_in_z = {label_in_z:.3f}, expected near chance (0.1). "
                                            "Hint: score the probe on the half it was NOT fitted on.")
        want = 0.0 if copies_label else 1.0
        if not np.isclose(swap, want):
            return CheckResult(name, False, f"{kind}: swap_accuracy = {swap:.3f}, expected {want:g}. Hint: decode "
                                            "z_mean with the new labels (y + 1) mod 10 and compare the classifier's "
                                            "reading with the NEW labels.")
    return CheckResult(name, True, "both stand-in CVAEs give the known kl, label_in_z and swap_accuracy.")
