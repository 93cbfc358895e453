"""Self-checks of notebook 04, variational generative networks: the VAE-GAN's feature likelihood, the
CVAE's bound, and measuring a CVAE (exercises 3 and 4) on stand-in models with known answers.

Each check returns a :class:`~genai_tf.exercises.engine.CheckResult`, truthy only on a pass.
"""

from __future__ import annotations

import math

import numpy as np

from genai_tf.exercises.engine import CheckResult, raised, run_cases, seeded_rng

# the notebook also calls checks.value_in_range
from genai_tf.exercises.engine import value_in_range as value_in_range


def feature_reconstruction_nll(function) -> CheckResult:
    """Check ``function(real_features, reconstructed_features) -> (batch,)`` against Eq. (VAEGAN.2).

    −log N(Dis_l(x); Dis_l(x̃), I) without its constant: ½ Σ_j (Dis_l(x)_j − Dis_l(x̃)_j)², summed
    over every non-batch axis (the cases include flat features and (batch, h, w, c) maps).
    """
    rng = seeded_rng(8)
    cases = [(rng.normal(size=(4, 6)).astype("float32"), rng.normal(size=(4, 6)).astype("float32")),
             (rng.normal(size=(3, 2, 2, 5)).astype("float32"),
              rng.normal(size=(3, 2, 2, 5)).astype("float32"))]
    expected = [0.5 * np.sum((a.astype("float64") - b) ** 2, axis=tuple(range(1, a.ndim)))
                for a, b in cases]
    return run_cases("feature_reconstruction_nll", function, cases, expected,
                     "½ Σ (real − reconstructed)² over every axis but the batch axis; the Gaussian's "
                     "½ log 2π per feature is a constant and is dropped.")


def conditional_elbo(function) -> CheckResult:
    """Check ``function(images, logits, z_mean, z_log_var) -> (batch,)``, a one-sample Eq. (CVAE.1).

    ELBO = log p(x | z, y) − KL(q(z | x, y) ‖ N(0, I)) with a Bernoulli decoder on ``logits``
    (Eq. AE.2) and the closed-form KL (Eq. VAE.4); the label y enters through the networks that
    produced the tensors. Includes logits of ±60, where log σ(l) computed naively is log 0.
    """
    rng = seeded_rng(9)

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
    return run_cases("conditional_elbo", function, cases, expected,
                     "ELBO = −(Bernoulli NLL on logits, summed over pixels) − ½ Σ_j (μ_j² + σ_j² − log σ_j² − 1); "
                     "mind the sign: the ELBO is a log-likelihood bound (negative), not a loss.")


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
    return run_cases("class_accuracy", lambda *case: float(function(*case)), cases, expected,
                     "draw the samples with labels=np.full(num_samples, digit), then return the mean of "
                     "classifier.predict(samples) == digit; a constant is not an answer.", shape_hint="one number")


class _StandInCVAE:
    """A stand-in CVAE with known codes: ``copies_label`` puts a scaled one-hot label in z and
    decodes the label *from z* (ignoring the y it is given); otherwise z is random style and the
    decoder draws the y it is given. Images carry their label in every pixel."""

    num_classes = 10

    def __init__(self, copies_label, latent_dim, seed):
        self.copies_label, self.latent_dim, self.rng = copies_label, latent_dim, seeded_rng(seed)

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
        except Exception as error:
            return raised(name, error, "encode with the true labels, fit the probe on one half of z_mean, "
                                       "decode with (y + 1) mod 10.")
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
