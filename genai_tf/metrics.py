"""Evaluation: reconstruction error, the PCA baseline, ELBO and IWAE estimates of log p(x).

All functions return plain Python floats or numpy arrays, in nats unless a name says bits.
"""

from __future__ import annotations

import math

import numpy as np
from keras import ops

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


def bits_per_dim(nll_nats, num_dims) -> float:
    """Convert an NLL in nats per example into bits per dimension: nll / (D · ln 2)."""
    return float(nll_nats) / (num_dims * math.log(2.0))


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
