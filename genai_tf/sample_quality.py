"""Sample-quality metrics in the cFID classifier's feature space: cFID, KID, IS, precision / recall.

The features and class probabilities come from :mod:`genai_tf.feature_classifier`; every
function here is pure numpy / scipy. :func:`evaluate_samples` computes them all with a
real-vs-real floor at the same sample size; :func:`metric_by_sample_size` and
:func:`extrapolate_inverse_n` measure FID's 1/n bias (notebook 05). Likelihood metrics stay
in :mod:`genai_tf.metrics`; the report table is in :mod:`genai_tf.tables`.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg

from genai_tf import feature_classifier

# --- metrics on features and probabilities ------------------------------------------------


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean μ ``(d,)`` and covariance Σ ``(d, d)`` (unbiased, 1/(n-1)) of ``(n, d)`` features."""
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"Expected features shaped (n >= 2, d); got {features.shape}.")
    return features.mean(axis=0), np.atleast_2d(np.cov(features, rowvar=False))


def frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6) -> float:
    """Fréchet distance between N(μ1, Σ1) and N(μ2, Σ2): ‖μ1−μ2‖² + Tr(Σ1 + Σ2 − 2(Σ1Σ2)^{1/2}).

    (Σ1Σ2)^{1/2} comes from ``scipy.linalg.sqrtm``. When it fails (non-finite, or a large
    imaginary part from near-singular covariances) it is recomputed with ε·I added to both
    covariances (ε relative to their largest entry); tiny imaginary parts from rounding are
    dropped.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != mu1.shape * 2:
        raise ValueError(f"Mismatched shapes: mu {mu1.shape} / {mu2.shape}, "
                         f"sigma {sigma1.shape} / {sigma2.shape}.")
    covmean = _sqrtm(sigma1 @ sigma2)
    scale = max(np.abs(sigma1).max(), np.abs(sigma2).max(), 1e-12)
    if covmean is None or np.abs(np.imag(covmean)).max() > 1e-3 * scale:
        offset = eps * scale * np.eye(len(mu1))
        covmean = _sqrtm((sigma1 + offset) @ (sigma2 + offset), check=False)
    diff = mu1 - mu2
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(np.real(covmean))
    return float(max(value, 0.0))  # a squared distance: negatives are rounding


def _sqrtm(matrix, check=True):
    """scipy's matrix square root; with ``check``, None when it is non-finite or inaccurate."""
    with warnings.catch_warnings():  # singular products are expected: we check the result
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        root = scipy.linalg.sqrtm(matrix)
    if check and (not np.all(np.isfinite(root)) or np.linalg.norm(root @ root - matrix)
                  > 1e-4 * max(np.linalg.norm(matrix), 1e-12)):
        return None
    return root


def fid_from_features(features1, features2) -> float:
    """Fréchet distance between Gaussians fitted to two ``(n, d)`` feature sets."""
    return frechet_distance(*feature_statistics(features1), *feature_statistics(features2))


def polynomial_mmd2(x, y) -> float:
    """Unbiased MMD² with k(a, b) = (aᵀb / d + 1)³, for ``x`` ``(m, d)`` and ``y`` ``(n, d)``.

    MMD² = Σ_{i≠j} k(xᵢ, xⱼ) / (m(m−1)) + Σ_{i≠j} k(yᵢ, yⱼ) / (n(n−1)) − 2 Σ_{i,j} k(xᵢ, yⱼ) / (mn).
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    m, n, d = len(x), len(y), x.shape[1]
    k_xx, k_yy, k_xy = ((a @ b.T / d + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
    return float((k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
                 + (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1)) - 2 * k_xy.mean())


def kid(features1, features2, num_subsets=10, subset_size=1000, seed=0) -> tuple[float, float]:
    """Kernel Inception Distance (Bińkowski et al., 2018): mean and std of :func:`polynomial_mmd2`
    over ``num_subsets`` random subsets of ``subset_size`` (capped at the smaller set) from each set."""
    features1, features2 = np.asarray(features1, np.float64), np.asarray(features2, np.float64)
    size = min(subset_size, len(features1), len(features2))
    if size < 2:
        raise ValueError("KID needs at least 2 feature vectors in each set.")
    rng = np.random.default_rng(seed)
    values = [polynomial_mmd2(features1[rng.choice(len(features1), size, replace=False)],
                              features2[rng.choice(len(features2), size, replace=False)])
              for _ in range(num_subsets)]
    return float(np.mean(values)), float(np.std(values))


def polynomial_mmd2_resplits(x, y, num_resplits=1000, seed=0) -> np.ndarray:
    """:func:`polynomial_mmd2` of ``num_resplits`` random re-splits of the pooled rows of ``x`` and ``y``
    into ``len(x)`` and ``len(y)`` rows, ``(num_resplits,)``: the permutation null of the kernel
    two-sample test (Gretton et al., 2012). When ``x`` and ``y`` are one random split of the same
    data, their MMD² is one draw from this distribution, whose mean over all splits is exactly 0.
    One kernel matrix of the m + n rows; each re-split only sums its blocks.
    """
    pooled = np.concatenate([np.asarray(x, np.float64), np.asarray(y, np.float64)])
    m, n = len(x), len(y)
    kernel = (pooled @ pooled.T / pooled.shape[1] + 1) ** 3
    np.fill_diagonal(kernel, 0.0)  # pairs i ≠ j only
    row_sums, total, rng, values = kernel.sum(axis=1), kernel.sum(), np.random.default_rng(seed), []
    for start in range(0, num_resplits, 1000):
        in_x = np.zeros((min(1000, num_resplits - start), m + n))  # 1 marks the rows re-split into x
        np.put_along_axis(in_x, np.argsort(rng.random(in_x.shape), axis=1)[:, :m], 1.0, axis=1)
        xx = np.sum((in_x @ kernel) * in_x, axis=1)  # Σ over pairs within x
        xy = in_x @ row_sums - xx                    # Σ over pairs across
        yy = total - xx - 2 * xy                     # Σ over pairs within y
        values.append(xx / (m * (m - 1)) + yy / (n * (n - 1)) - 2 * xy / (m * n))
    return np.concatenate(values)


def inception_score(probabilities, num_splits=10) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) ‖ p(y))), p(y) the mean prediction, per split; returns (mean, std).

    Ranges from 1 (every prediction the same, or every prediction uniform) to the number of
    classes (confident predictions spread evenly over all classes).
    """
    probabilities = np.asarray(probabilities, np.float64)
    scores = []
    for part in np.array_split(probabilities, min(num_splits, len(probabilities))):
        marginal = part.mean(axis=0, keepdims=True)  # p(y), (1, classes)
        kl = np.sum(part * (np.log(np.maximum(part, 1e-12)) - np.log(np.maximum(marginal, 1e-12))),
                    axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def _squared_distances(a, b) -> np.ndarray:
    """‖aᵢ − bⱼ‖², ``(len(a), len(b))``."""
    return np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T, 0.0)


def _inside_fraction(points, manifold, k, batch_size=1000) -> float:
    """Share of ``points`` within the k-th-nearest-neighbour radius of some ``manifold`` point."""
    radii = np.concatenate([  # index 0 of each sorted row is the point itself
        np.partition(_squared_distances(manifold[i:i + batch_size], manifold), k, axis=1)[:, k]
        for i in range(0, len(manifold), batch_size)])
    inside = [np.any(_squared_distances(points[i:i + batch_size], manifold) <= radii[None], axis=1)
              for i in range(0, len(points), batch_size)]
    return float(np.concatenate(inside).mean())


def precision_recall(real_features, fake_features, k=3) -> tuple[float, float]:
    """k-NN precision and recall (Kynkäänniemi et al., 2019).

    A set's manifold is the union of balls around its points, each with radius the distance to
    the point's k-th nearest neighbour in the set. Precision = share of fake samples inside the
    real manifold (fidelity); recall = share of real samples inside the fake manifold (coverage).
    Exact distances, in batches: fine for up to about 10,000 points per set.
    """
    real, fake = np.asarray(real_features, np.float64), np.asarray(fake_features, np.float64)
    if min(len(real), len(fake)) <= k:
        raise ValueError(f"precision_recall needs more than k={k} points in each set.")
    return _inside_fraction(fake, real, k), _inside_fraction(real, fake, k)


def class_histogram(predicted_labels, num_classes) -> np.ndarray:
    """Share of samples predicted as each class, ``(num_classes,)``, summing to 1."""
    labels = np.asarray(predicted_labels, np.int64).reshape(-1)
    return np.bincount(labels, minlength=num_classes)[:num_classes] / max(len(labels), 1)


def max_class_share_ratio(histogram) -> float:
    """Largest class share over the uniform share 1/C: 1 = balanced, C = all one class (collapse)."""
    histogram = np.asarray(histogram, np.float64)
    return float(histogram.max() * len(histogram))


# --- everything at once -------------------------------------------------------------------


def evaluate_samples(samples, real_images, classifier, num_real=None, seed=0) -> dict:
    """Every sample-quality metric of ``samples`` against ``real_images`` in ``classifier``'s space.

    FID is biased upwards by about c / n with n images per set, so ``cfid`` means something
    only next to a real-vs-real floor measured at the same n. The real images are split at
    random into n = ``floor_size`` = min(len(samples), len(real) // 2) held-out images and a
    reference set of the rest (``num_reference``). Against that one reference set:

    - ``cfid``, ``precision`` and ``recall`` score n samples (a seeded random subset when
      there are more; ``num_compared`` records n);
    - ``cfid_floor``, ``precision_real`` and ``recall_real`` score the n held-out real images
      the same way: what a perfect generator would get with n samples.

    So ``cfid / cfid_floor`` compares like with like. KID is unbiased, so its expectation does
    not depend on n: ``kid_mean`` / ``kid_std`` compare all the samples with the reference.
    The Inception score and the class histogram read the samples alone and use all
    ``num_samples`` of them (``inception_score_real``: all the real images). ``num_real``
    first subsamples the real images; precision / recall use at most 10,000 random points per
    set (the same reference points for the samples and for the floor).
    """
    rng = np.random.default_rng(seed)
    samples = feature_classifier.check_images(samples, classifier.image_shape)
    real_images = feature_classifier.check_images(real_images, classifier.image_shape)
    if num_real is not None and num_real < len(real_images):
        real_images = real_images[np.sort(rng.permutation(len(real_images))[:num_real])]
    floor_size = min(len(samples), len(real_images) // 2)
    if floor_size < 6:  # precision / recall need more than k = 3 points per set
        raise ValueError(f"Too few images: {len(samples)} samples and {len(real_images)} real; "
                         "use at least 6 samples and 12 real images (thousands for stable numbers).")
    fake_features, fake_probabilities = classifier.outputs(samples)
    real_features, real_probabilities = classifier.outputs(real_images)
    order = rng.permutation(len(real_features))
    held_out, reference = real_features[order[:floor_size]], real_features[order[floor_size:]]
    compared = fake_features  # n samples, like the floor's n held-out real images
    if len(fake_features) > floor_size:
        compared = fake_features[np.sort(rng.permutation(len(fake_features))[:floor_size])]
    kid_mean, kid_std = kid(reference, fake_features, seed=seed)
    is_mean, is_std = inception_score(fake_probabilities)

    def capped(features):
        return features[rng.permutation(len(features))[:10_000]]

    reference_points = capped(reference)
    precision, recall = precision_recall(reference_points, capped(compared))
    precision_real, recall_real = precision_recall(reference_points, capped(held_out))
    histogram = class_histogram(np.argmax(fake_probabilities, axis=1), fake_probabilities.shape[1])
    return {
        "cfid": fid_from_features(reference, compared),
        "cfid_floor": fid_from_features(reference, held_out), "floor_size": int(floor_size),
        "kid_mean": kid_mean, "kid_std": kid_std,
        "inception_score": is_mean, "inception_score_std": is_std,
        "inception_score_real": inception_score(real_probabilities)[0],
        "precision": precision, "recall": recall,
        "precision_real": precision_real, "recall_real": recall_real,
        "class_histogram": [float(share) for share in histogram],
        "max_class_ratio": max_class_share_ratio(histogram),
        "num_samples": len(samples), "num_compared": len(compared),
        "num_real": len(real_images), "num_reference": len(reference),
        "classifier_accuracy": float(classifier.test_accuracy),
    }


def model_cfid(model, real_images, classifier, num_samples, sample_seed=0, seed=0) -> dict:
    """cFID of ``model.generate(num_samples, seed=sample_seed)`` against ``real_images``, and the
    real-vs-real floor at the same n, from :func:`evaluate_samples` (``seed`` seeds its splits):
    ``{"cfid": ..., "floor": ...}``. Bound with ``functools.partial`` to everything but the model,
    it is the ``evaluate`` of a ``training.callbacks.StepHistory`` that scores a model during training
    (notebook 06's learning curve)."""
    scores = evaluate_samples(model.generate(num_samples, seed=sample_seed), real_images, classifier, seed=seed)
    return {"cfid": scores["cfid"], "floor": scores["cfid_floor"]}


# --- sample size, baselines and result tables (notebook 05) -------------------------------


def metric_by_sample_size(features1, features2, sizes, metric=None, num_repeats=3,
                          seed=0) -> np.ndarray:
    """``metric(a, b)`` (default :func:`fid_from_features`) on random ``n``-row subsets of each set, per ``n`` in ``sizes``: ``(len(sizes), num_repeats)``."""
    metric = metric or fid_from_features
    features1, features2 = np.asarray(features1, np.float64), np.asarray(features2, np.float64)
    if max(sizes) > min(len(features1), len(features2)):
        raise ValueError(f"sizes go up to {max(sizes)}, but the sets have {len(features1)} and "
                         f"{len(features2)} rows; use more features or smaller sizes.")
    rng = np.random.default_rng(seed)
    values = np.empty((len(sizes), num_repeats))
    for row, size in enumerate(sizes):
        for repeat in range(num_repeats):
            values[row, repeat] = metric(features1[rng.choice(len(features1), size, replace=False)],
                                         features2[rng.choice(len(features2), size, replace=False)])
    return values


def extrapolate_inverse_n(sizes, values) -> tuple[float, float]:
    """Least-squares fit of ``values ≈ a + c / n`` (rows of ``values`` match ``sizes``); returns ``(a, c)``, ``a`` the n → ∞ limit."""
    sizes = np.asarray(sizes, np.float64)
    values = np.asarray(values, np.float64).reshape(len(sizes), -1)
    inverse = np.repeat(1.0 / sizes, values.shape[1])
    slope, intercept = np.polyfit(inverse, values.reshape(-1), 1)
    return float(intercept), float(slope)


def draw_samples(model, num_samples, seed=0, chunk=1000, labels=None) -> np.ndarray:
    """``model.generate`` for many samples, ``chunk`` at a time to bound memory.

    Chunk ``i`` (its first sample at ``start = i · chunk``) is ``model.generate(size,
    seed=seed + start)``, so the result does not depend on anything but ``seed`` and ``chunk``.
    ``labels`` (``(num_samples,)`` ints) go to a conditional model chunk by chunk; without them
    the CVAE cycles its classes within each chunk. Returns float32 ``(num_samples, H, W, C)``.
    """
    num_samples, chunk = int(num_samples), int(chunk)
    if num_samples < 1 or chunk < 1:
        raise ValueError(f"num_samples={num_samples} and chunk={chunk} must both be at least 1.")
    if labels is not None:
        labels = np.asarray(labels).reshape(-1)
        if len(labels) != num_samples:
            raise ValueError(f"labels has {len(labels)} entries; draw_samples needs one per sample ({num_samples}).")
    parts = []
    for start in range(0, num_samples, chunk):
        size = min(chunk, num_samples - start)
        extra = {} if labels is None else {"labels": labels[start:start + size]}
        parts.append(np.asarray(model.generate(size, seed=seed + start, **extra), dtype="float32"))
    return np.concatenate(parts)


def sharpness(images) -> float:
    """Mean over images of the mean squared discrete Laplacian of each image's first channel:
    high for crisp strokes, low for blur (a blurred image has smaller second differences).

    The Laplacian is ``scipy.ndimage.laplace`` (the 5-point stencil, edges reflected). Notebook 04
    reports it relative to real test images: 1 is as sharp as real digits.
    """
    from scipy import ndimage

    images = np.asarray(images, dtype="float64")
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"images has shape {images.shape}; pass a non-empty batch (n, H, W, C).")
    return float(np.mean([np.mean(ndimage.laplace(image[..., 0]) ** 2) for image in images]))


def uniform_noise_images(num_images, image_shape, seed=0) -> np.ndarray:
    """The noise baseline: float32 ``(n, H, W, C)`` images with pixels drawn i.i.d. from U[0, 1]."""
    return np.random.default_rng(seed).random((int(num_images), *image_shape), dtype=np.float32)
