"""Evaluation: reconstruction error, the PCA baseline, ELBO and IWAE estimates of log p(x).

All functions return plain Python floats or numpy arrays, in nats unless a name says bits.
:func:`family_reconstruction_mse` and :func:`family_log_likelihoods` score a registered family's
model on the inputs it reads (notebook 05's results table); :class:`LinearGaussianToy` is a
latent-variable model whose log p(x) is known exactly, to check the likelihood bounds on.
"""

from __future__ import annotations

import math

import numpy as np
from keras import ops
from scipy import stats

from genai_tf import losses


def _image_batches(data, batch_size=256):
    """Yield image batches from a ``tf.data.Dataset`` of ``(images, labels)`` or an array."""
    if isinstance(data, np.ndarray):
        for start in range(0, len(data), batch_size):
            yield data[start:start + batch_size]
        return
    for batch in data:
        yield batch[0] if isinstance(batch, (tuple, list)) else batch


def reconstruction_mse(model, data, targets=None, labels=None, batch_size=256) -> float:
    """Mean over pixels and examples of (x - model(x))², Eq. (AE.3).

    ``data``: a dataset or an array of model inputs. For arrays, ``targets`` (default: the
    inputs) are what reconstructions are compared with, e.g. grey-level images when the model
    reads binarised ones; ``labels`` are passed as ``model((inputs, labels))`` (the CVAE).
    """
    if targets is None and labels is None:
        batches = ((images, images, None) for images in _image_batches(data, batch_size))
    else:
        inputs = np.asarray(data)
        targets = inputs if targets is None else np.asarray(targets)
        if targets.shape != inputs.shape or (labels is not None and len(labels) != len(inputs)):
            raise ValueError(f"inputs {inputs.shape}, targets {targets.shape} and labels "
                             f"{None if labels is None else len(labels)} must describe the same examples.")
        batches = ((inputs[i:i + batch_size], targets[i:i + batch_size],
                    None if labels is None else np.asarray(labels)[i:i + batch_size])
                   for i in range(0, len(inputs), batch_size))
    totals, count = 0.0, 0
    for batch_inputs, batch_targets, batch_labels in batches:
        model_inputs = batch_inputs if batch_labels is None else (batch_inputs, batch_labels)
        reconstructions = model(model_inputs, training=False)
        values = ops.convert_to_numpy(losses.squared_error(batch_targets, reconstructions))
        totals += float(values.sum())
        count += len(values)
    return totals / count


def family_reconstruction_mse(family, model, grey_images, binary_images, labels=None) -> float | None:
    """Test MSE against the grey-level images, Eq. (EVAL.1) of notebook 05, from the inputs a family reads.

    ``family`` is its :class:`genai_tf.models.registry.Family`. A family trained on binarised
    images (``family.binarize``) encodes ``binary_images``, the others ``grey_images``; either
    way the reconstructions are compared with ``grey_images``. A conditional family whose model
    class has an encoder (the CVAE) reconstructs ``(images, labels)``. Returns None for a
    family without reconstructions (the GANs).
    """
    inputs = binary_images if family.binarize else grey_images
    if family.conditional:
        if not hasattr(family.model_class, "encode"):  # a conditional GAN: no encoder
            return None
        if labels is None:
            raise ValueError(f"{family.name} is conditional: pass the test images' labels.")
        return reconstruction_mse(model, inputs, targets=grey_images, labels=labels)
    if not family.reconstructs:
        return None
    return reconstruction_mse(model, inputs, targets=grey_images)


def pca_reconstruction_mse(train_images, test_images, latent_dim) -> float:
    """Test MSE of the best rank-``latent_dim`` affine reconstruction fitted on train (PCA).

    The principal directions come from an SVD of the centred training images; a test image
    is reconstructed as mean + P Pᵀ (x - mean). This is the optimum a linear autoencoder
    with ``latent_dim`` units can reach on the training set.
    """
    train = np.asarray(train_images, dtype="float64").reshape(len(train_images), -1)
    test = np.asarray(test_images, dtype="float64").reshape(len(test_images), -1)
    mean = train.mean(axis=0)
    _, _, directions = np.linalg.svd(train - mean, full_matrices=False)
    basis = directions[:latent_dim].T  # (pixels, latent_dim)
    reconstructions = mean + (test - mean) @ basis @ basis.T
    return float(np.mean((test - reconstructions) ** 2))


def evaluate_elbo(model, data) -> float:
    """Mean one-sample ELBO (nats) of a VAE over a dataset, Eq. (VAE.2)."""
    values = [float(ops.convert_to_numpy(model.compute_losses(images)["elbo"])) * len(images)
              for images in _image_batches(data)]
    sizes = [len(images) for images in _image_batches(data)]
    return sum(values) / sum(sizes)


def iwae_log_likelihood(model, images, num_samples=100, chunk_size=50, seed=None,
                        labels=None) -> np.ndarray:
    """Per-example IWAE estimate of log p(x) with k = ``num_samples`` (Eq. VAE.7), in nats.

    Importance weights are drawn ``chunk_size`` at a time to bound memory, then combined in
    one log-sum-exp, so the result equals the k-sample bound, not an average of small ones.
    With ``labels`` (a conditional model, e.g. the CVAE) it estimates log p(x | y).
    """
    inputs = (images,) if labels is None else (images, labels)
    chunks = []
    remaining = num_samples
    index = 0
    while remaining > 0:
        size = min(chunk_size, remaining)
        chunk_seed = None if seed is None else seed + index
        chunks.append(ops.convert_to_numpy(model.log_importance_weights(*inputs, size, seed=chunk_seed)))
        remaining -= size
        index += 1
    return ops.convert_to_numpy(losses.iwae_bound(np.concatenate(chunks, axis=0)))


def iwae_nll_values(model, data, num_samples=100, chunk_size=50, seed=0, labels=None) -> np.ndarray:
    """Each image's negative IWAE log-likelihood -log p(x) over a dataset, ``(n,)`` in nats.

    ``labels`` (an array aligned with ``data`` given as an array) gives -log p(x | y) for a
    conditional model. Their spread over the images, ``std / sqrt(n)``, is the standard error of
    :func:`iwae_nll`, their mean.
    """
    if labels is None:
        batches = [(images, None) for images in _image_batches(data, batch_size=100)]
    else:
        images, labels = np.asarray(data), np.asarray(labels)
        batches = [(images[start:start + 100], labels[start:start + 100])
                   for start in range(0, len(images), 100)]
    values = [-np.asarray(iwae_log_likelihood(model, images, num_samples, chunk_size,
                                              seed=None if seed is None else seed + 1000 * index,
                                              labels=batch_labels), dtype="float64")
              for index, (images, batch_labels) in enumerate(batches)]
    return np.concatenate(values)


def iwae_nll(model, data, num_samples=100, chunk_size=50, seed=0, labels=None) -> float:
    """Mean negative IWAE log-likelihood -log p(x) over a dataset, in nats (lower is better):
    the mean of :func:`iwae_nll_values`."""
    return float(np.mean(iwae_nll_values(model, data, num_samples, chunk_size, seed, labels)))


def family_log_likelihoods(family, model, binary_images, labels=None, num_samples=100,
                           seed=0) -> np.ndarray | None:
    """Each binarised test image's IWAE estimate of log p(x), ``(n,)`` in nats (Eq. VAE.7), for a family.

    Only a family whose model class has ``log_importance_weights`` has a density (the VAE and
    the CVAE); for the others this returns None. A conditional family gets ``labels`` and the
    result estimates log p(x | y). The values are minus :func:`iwae_nll_values`.
    """
    if not hasattr(family.model_class, "log_importance_weights"):
        return None
    if family.conditional and labels is None:
        raise ValueError(f"{family.name} is conditional: pass the test images' labels.")
    return -iwae_nll_values(model, binary_images, num_samples, seed=seed,
                            labels=labels if family.conditional else None)


def bits_per_dim(nll_nats, num_dims) -> float:
    """Convert an NLL in nats per example into bits per dimension: nll / (D · ln 2)."""
    return float(nll_nats) / (num_dims * math.log(2.0))


# --- an exactly solvable latent-variable model (notebook 05) -----------------------------------
class LinearGaussianToy:
    """A 1-D linear-Gaussian latent-variable model whose log p(x), ELBO and ELBO gap are known exactly.

    p(z) = N(0, 1) and p(x | z) = N(z, s²), so the marginal of Eq. (VAE.1) is p(x) = N(0, 1 + s²)
    and the posterior is p(z | x) = N(x / (1 + s²), s² / (1 + s²)). The encoder
    q(z | x) = N(shrink · x / (1 + s²), widen · s² / (1 + s²)) is deliberately imperfect unless
    ``shrink = widen = 1``, so the ELBO sits below log p(x) by a gap known in closed form.

    It has the one method :func:`iwae_log_likelihood` needs, ``log_importance_weights``, so the
    IWAE bound L_k of Eq. (EVAL.3) of notebooks/05_evaluating_generative_models.ipynb (Eq. VAE.7
    of notebook 02) can be watched rising from the ELBO to log p(x). Everything is float64 numpy;
    ``x`` is an array of observations, shape ``(batch,)``.
    """

    def __init__(self, s=0.5, shrink=0.7, widen=2.0):
        if s <= 0 or widen <= 0:
            raise ValueError(f"LinearGaussianToy needs s > 0 and widen > 0; got s={s}, widen={widen}.")
        self.s, self.shrink, self.widen = float(s), float(shrink), float(widen)
        self.posterior_var = self.s**2 / (1 + self.s**2)  # variance of p(z | x)
        self.q_var = self.widen * self.posterior_var       # variance of q(z | x)

    def posterior_mean(self, x):
        """E[z | x] = x / (1 + s²), the mean of the true posterior p(z | x)."""
        return np.asarray(x, dtype="float64") / (1 + self.s**2)

    def q_mean(self, x):
        """The encoder's mean, shrink · x / (1 + s²)."""
        return self.shrink * self.posterior_mean(x)

    def log_importance_weights(self, x, num_samples, seed=None):
        """log w = log p(x | z) + log p(z) - log q(z | x) with z ~ q(z | x), Eq. (EVAL.3): shape ``(k, batch)``."""
        x = np.asarray(x, dtype="float64")
        epsilon = np.random.default_rng(seed).standard_normal((num_samples, len(x)))
        z = self.q_mean(x) + math.sqrt(self.q_var) * epsilon  # reparameterised, Eq. (VAE.5)
        return (stats.norm.logpdf(x, z, self.s) + stats.norm.logpdf(z)
                - stats.norm.logpdf(z, self.q_mean(x), math.sqrt(self.q_var)))

    def log_px(self, x):
        """Exact log p(x) = log N(x; 0, 1 + s²): the integral of Eq. (VAE.1) in closed form."""
        return stats.norm.logpdf(np.asarray(x, dtype="float64"), 0.0, math.sqrt(1 + self.s**2))

    def elbo(self, x):
        """Eq. (VAE.2) (EVAL.2 of notebook 05) in closed form: E_q[log p(x | z)] - KL(q(z | x) ‖ p(z)).

        With m, v the encoder's mean and variance: E_q[log N(x; z, s²)] = -½ log 2πs² - ((x - m)² + v) / 2s²
        and KL(N(m, v) ‖ N(0, 1)) = ½ (m² + v - log v - 1), Eq. (VAE.4) in one dimension.
        """
        x = np.asarray(x, dtype="float64")
        m, v = self.q_mean(x), self.q_var
        expected_log_likelihood = -0.5 * math.log(2 * math.pi * self.s**2) - ((x - m) ** 2 + v) / (2 * self.s**2)
        return expected_log_likelihood - 0.5 * (m**2 + v - math.log(v) - 1)

    def posterior_kl(self, x):
        """The ELBO's gap of Eq. (VAE.3), KL(q(z | x) ‖ p(z | x)), the KL between two 1-D Gaussians.

        KL(N(m_q, v_q) ‖ N(m_p, v_p)) = ½ (v_q / v_p + (m_q - m_p)² / v_p - 1 + log(v_p / v_q)).
        """
        difference = self.q_mean(x) - self.posterior_mean(x)
        ratio = self.q_var / self.posterior_var
        return 0.5 * (ratio + difference**2 / self.posterior_var - 1 - math.log(ratio))


# --- distances between distributions (notebook 06) --------------------------------------------
def wasserstein_1d(samples_p, samples_q) -> float:
    """Eq. (WGAN.1) in one dimension: W₁ = ∫ |F_P⁻¹(u) - F_Q⁻¹(u)| du, from two equal-size samples.

    In 1-D the optimal transport plan matches sorted samples in order, so the estimate is the
    mean of |p_(i) - q_(i)| over the sorted samples.
    """
    p = np.sort(np.asarray(samples_p, dtype="float64").reshape(-1))
    q = np.sort(np.asarray(samples_q, dtype="float64").reshape(-1))
    if len(p) != len(q) or len(p) == 0:
        raise ValueError(f"wasserstein_1d needs two non-empty samples of one size; got {len(p)} and {len(q)}.")
    return float(np.mean(np.abs(p - q)))


def jensen_shannon(p, q) -> float:
    """Eq. (WGAN.2): JS(P, Q) = ½ KL(P ‖ M) + ½ KL(Q ‖ M), M = ½ (P + Q), for discrete distributions, in nats.

    ``p`` and ``q`` are non-negative weights over the same cells (normalised here). It is at
    most log 2, reached exactly when the supports do not overlap.
    """
    p = np.asarray(p, dtype="float64").reshape(-1)
    q = np.asarray(q, dtype="float64").reshape(-1)
    if p.shape != q.shape or np.any(p < 0) or np.any(q < 0) or p.sum() <= 0 or q.sum() <= 0:
        raise ValueError("jensen_shannon needs two non-negative weight vectors of one length, each with a positive sum.")
    p, q = p / p.sum(), q / q.sum()
    m = 0.5 * (p + q)

    def kl(a):
        inside = a > 0
        return float(np.sum(a[inside] * np.log(a[inside] / m[inside])))

    return 0.5 * kl(p) + 0.5 * kl(q)
