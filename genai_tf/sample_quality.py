"""The course's sample-quality toolkit: a dataset classifier and the metrics computed in its feature space.

InceptionV3 knows nothing about 28×28 digits, so a small conv net trained on the dataset
itself (the "cFID classifier") supplies the features (its 128-unit penultimate layer) and
class probabilities for cFID (with a real-vs-real floor), KID, the Inception score, k-NN
precision / recall and the class histogram. The metric functions are pure numpy / scipy;
only the classifier touches Keras. Likelihood metrics stay in :mod:`genai_tf.metrics`.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import warnings
from pathlib import Path

import numpy as np
import scipy.linalg

CACHE_DIR_ENV = "GENAI_TF_CACHE_DIR"
DEFAULT_EPOCHS = {"digits": 10, "mnist": 3, "fashion_mnist": 5, "cifar10": 10}


# --- the feature classifier ---------------------------------------------------------------


def check_images(images, image_shape=None) -> np.ndarray:
    """``images`` as float32 ``(n, H, W, C)`` in [0, 1], or a ValueError that says how to fix it."""
    images = np.asarray(images)
    if images.ndim != 4 or len(images) == 0:
        hint = " Add the channel axis: images[..., None]." if images.ndim == 3 else ""
        raise ValueError(f"Expected images shaped (n >= 1, H, W, C) with floats in [0, 1]; got "
                         f"an array of shape {images.shape}.{hint}")
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(f"Expected float images in [0, 1]; got dtype {images.dtype}. For uint8 "
                         "pixels use images.astype('float32') / 255.")
    if image_shape is not None and tuple(images.shape[1:]) != tuple(image_shape):
        raise ValueError(f"Expected images of shape (n, {', '.join(map(str, image_shape))}); got "
                         f"{images.shape}. Generate at that size, or load a classifier for "
                         f"image_shape={tuple(images.shape[1:])}.")
    if not np.all(np.isfinite(images)):
        raise ValueError("The images contain NaN or infinite values.")
    low, high = float(images.min(initial=0.0)), float(images.max(initial=0.0))
    if low < -1e-4 or high > 1 + 1e-4:
        hint = (" They look like [-1, 1] (tanh) outputs: rescale with (x + 1) / 2."
                if low >= -1 - 1e-4 and high <= 1 + 1e-4 else "")
        raise ValueError(f"Expected images with values in [0, 1]; got [{low:.3f}, {high:.3f}].{hint}")
    return np.clip(images, 0.0, 1.0).astype(np.float32, copy=False)


@dataclasses.dataclass
class FeatureClassifier:
    """A trained dataset classifier; its 128-unit penultimate layer is the feature space."""

    model: object = dataclasses.field(repr=False)  # keras.Model: images -> class probabilities
    dataset: str
    image_shape: tuple
    test_accuracy: float
    path: str | None = None

    def __post_init__(self):
        import keras

        self.image_shape = tuple(int(d) for d in self.image_shape)
        outputs = [self.model.get_layer("features").output, self.model.output]
        self._both = keras.Model(self.model.input, outputs)

    def outputs(self, images, batch_size=500) -> tuple[np.ndarray, np.ndarray]:
        """``(features (n, d), probabilities (n, classes))`` for ``images`` in one pass."""
        images = check_images(images, self.image_shape)
        features, probabilities = [], []
        for start in range(0, len(images), batch_size):
            f, p = self._both(images[start:start + batch_size], training=False)
            features.append(np.asarray(f, np.float64))
            probabilities.append(np.asarray(p, np.float64))
        return np.concatenate(features), np.concatenate(probabilities)

    def features(self, images, batch_size=500) -> np.ndarray:
        """Penultimate-layer activations, float64 ``(n, d)``."""
        return self.outputs(images, batch_size)[0]

    def predict_proba(self, images, batch_size=500) -> np.ndarray:
        """Class probabilities p(y|x), float64 ``(n, num_classes)``."""
        return self.outputs(images, batch_size)[1]

    def predict(self, images, batch_size=500) -> np.ndarray:
        """Predicted labels, int ``(n,)``."""
        return np.argmax(self.predict_proba(images, batch_size), axis=1)


def default_cache_dir() -> Path:
    """``$GENAI_TF_CACHE_DIR`` if set, else ``~/.cache/genai_tf``."""
    return Path(os.environ.get(CACHE_DIR_ENV) or Path.home() / ".cache" / "genai_tf")


def build_classifier(image_shape, num_classes=10, seed=0):
    """Conv(32) → pool → Conv(64) → pool → Dense(128, "features") → softmax; seeded initializers."""
    import keras
    from keras import layers

    def init(offset):
        return keras.initializers.GlorotUniform(seed=seed + offset)

    images = keras.Input(shape=tuple(image_shape), name="images")  # (batch, H, W, C)
    hidden = images
    for index, width in enumerate((32, 64)):
        hidden = layers.Conv2D(width, 3, padding="same", activation="relu",
                               kernel_initializer=init(index))(hidden)
        hidden = layers.MaxPooling2D(padding="same")(hidden)  # (batch, H/2, W/2, width)
    hidden = layers.Flatten()(hidden)
    features = layers.Dense(128, activation="relu", kernel_initializer=init(2),
                            name="features")(hidden)  # (batch, 128)
    hidden = layers.Dropout(0.3, seed=seed)(features)
    probabilities = layers.Dense(num_classes, activation="softmax", kernel_initializer=init(3),
                                 name="probabilities")(hidden)
    return keras.Model(images, probabilities, name="cfid_classifier")


def load_classifier(dataset_name, image_shape=(28, 28, 1), cache_dir=None, epochs=None,
                    data_dir=None, verbose=0) -> FeatureClassifier:
    """The cFID classifier for ``dataset_name``: loaded from the cache, else trained and cached.

    Cached as ``<cache_dir>/<dataset>-<H>x<W>x<C>/classifier.keras`` plus ``classifier.json``
    (test accuracy, epochs, date). Training is seeded and uses the train split of
    :func:`genai_tf.data.load_dataset` (seed 0); ``epochs`` defaults to ``DEFAULT_EPOCHS``.
    An explicit ``epochs`` that differs from the cached model's retrains it. ``verbose`` is
    passed to ``fit``.
    """
    import keras

    height, width, channels = (int(d) for d in image_shape)
    if height != width:
        raise ValueError(f"image_shape={tuple(image_shape)}: only square images are supported.")
    folder = Path(cache_dir or default_cache_dir()) / f"{dataset_name}-{height}x{width}x{channels}"
    model_path, info_path = folder / "classifier.keras", folder / "classifier.json"
    info = json.loads(info_path.read_text()) if info_path.exists() else None
    if info is not None and model_path.exists() and epochs in (None, info["epochs"]):
        model, accuracy, how = keras.models.load_model(model_path), info["test_accuracy"], "cached"
    else:
        model, accuracy, epochs = _train_classifier(dataset_name, height, channels, epochs,
                                                    data_dir, verbose)
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f"classifier-{os.getpid()}.keras"  # write, then rename: no torn files
        model.save(temporary)
        os.replace(temporary, model_path)
        info_path.write_text(json.dumps({
            "dataset": dataset_name, "image_shape": [height, width, channels],
            "test_accuracy": accuracy, "epochs": epochs,
            "date": datetime.datetime.now().isoformat(timespec="seconds")}, indent=2))
        how = f"trained for {epochs} epochs, cached"
    print(f"classifier for {dataset_name}: test accuracy {100 * accuracy:.1f}% ({how} at {model_path})")
    return FeatureClassifier(model, dataset_name, (height, width, channels), accuracy, str(model_path))


def _train_classifier(dataset_name, size, channels, epochs, data_dir, verbose):
    """Train on the seed-0 train split; returns ``(model, test accuracy, epochs)``."""
    import keras

    from genai_tf import data

    batch_size = 64 if dataset_name == "digits" else 128
    loaded = data.load_dataset(dataset_name, image_size=size, batch_size=batch_size, seed=0,
                               data_dir=data_dir)
    if loaded.image_shape[-1] != channels:
        raise ValueError(f"{dataset_name} images are {loaded.image_shape}, not "
                         f"{(size, size, channels)}.")
    epochs = epochs or DEFAULT_EPOCHS.get(dataset_name, 5)
    model = build_classifier(loaded.image_shape, loaded.num_classes)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(loaded.train, epochs=epochs, verbose=verbose, shuffle=False)  # already shuffled
    accuracy = float(model.evaluate(loaded.test, verbose=0, return_dict=True)["accuracy"])
    return model, accuracy, epochs


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

    FID is biased upwards at small sample sizes, so ``cfid`` is read against a real-vs-real
    floor measured the same way. A random ``floor_size`` = min(len(samples), len(real) // 2) real
    images are held out; the rest are the reference set. ``cfid``, KID and precision / recall
    compare the samples with the reference; ``cfid_floor``, ``precision_real`` and
    ``recall_real`` compare the held-out real images with it: what a perfect generator with
    ``floor_size`` samples would score. (With twice as many real images as samples, the two
    sets are equal halves.) ``num_real`` first subsamples the real images; precision / recall
    use at most 10,000 random points per set.
    """
    rng = np.random.default_rng(seed)
    samples = check_images(samples, classifier.image_shape)
    real_images = check_images(real_images, classifier.image_shape)
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
    kid_mean, kid_std = kid(reference, fake_features, seed=seed)
    is_mean, is_std = inception_score(fake_probabilities)

    def capped(features):
        return features[rng.permutation(len(features))[:10_000]]

    precision, recall = precision_recall(capped(reference), capped(fake_features))
    precision_real, recall_real = precision_recall(capped(reference), capped(held_out))
    histogram = class_histogram(np.argmax(fake_probabilities, axis=1), fake_probabilities.shape[1])
    return {
        "cfid": fid_from_features(reference, fake_features),
        "cfid_floor": fid_from_features(reference, held_out), "floor_size": int(floor_size),
        "kid_mean": kid_mean, "kid_std": kid_std,
        "inception_score": is_mean, "inception_score_std": is_std,
        "inception_score_real": inception_score(real_probabilities)[0],
        "precision": precision, "recall": recall,
        "precision_real": precision_real, "recall_real": recall_real,
        "class_histogram": [float(share) for share in histogram],
        "max_class_ratio": max_class_share_ratio(histogram),
        "num_samples": len(samples), "num_real": len(real_images), "num_reference": len(reference),
        "classifier_accuracy": float(classifier.test_accuracy),
    }


def format_report(results) -> str:
    """A markdown table of :func:`evaluate_samples`' results."""
    r = results
    shares = ", ".join(f"{c}: {100 * s:.0f}%" for c, s in enumerate(r["class_histogram"]))
    rows = [
        ("cFID ↓", f"{r['cfid']:.2f}", f"floor {r['cfid_floor']:.2f}: {r['floor_size']} held-out "
         "real images in place of the samples; FID shrinks as n grows"),
        ("KID ↓", f"{r['kid_mean']:.3f} ± {r['kid_std']:.3f}", "0 = same distribution"),
        ("Inception score ↑", f"{r['inception_score']:.2f} ± {r['inception_score_std']:.2f}",
         f"real images {r['inception_score_real']:.2f}; at most {len(r['class_histogram'])}"),
        ("precision ↑", f"{r['precision']:.3f}",
         f"share of samples that look real (fidelity); held-out real {r['precision_real']:.3f}"),
        ("recall ↑", f"{r['recall']:.3f}",
         f"share of real data the samples cover (diversity); held-out real {r['recall_real']:.3f}"),
        ("max class share ratio", f"{r['max_class_ratio']:.2f}",
         f"1 = balanced, {len(r['class_histogram'])} = one class (mode collapse)"),
        ("class histogram", shares, "classes the classifier predicts for the samples"),
    ]
    lines = [f"{r['num_samples']} samples vs {r['num_reference']} reference real images; classifier test "
             f"accuracy {100 * r['classifier_accuracy']:.1f}%", "",
             "| metric | value | reading |", "|---|---|---|"]
    return "\n".join(lines + [f"| {name} | {value} | {note} |" for name, value, note in rows])


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


def uniform_noise_images(num_images, image_shape, seed=0) -> np.ndarray:
    """The noise baseline: float32 ``(n, H, W, C)`` images with pixels drawn i.i.d. from U[0, 1]."""
    return np.random.default_rng(seed).random((int(num_images), *image_shape), dtype=np.float32)


def markdown_table(rows, columns, formats=None, missing="—") -> str:
    """A markdown table of ``rows`` (``{row name: {column: value}}``); a missing or None value prints as ``missing``."""
    formats = formats or {}

    def cell(row, column):
        value = row.get(column)
        if value is None:
            return missing
        style = formats.get(column, "{}")
        return style(value) if callable(style) else style.format(value)

    lines = ["| | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(cell(row, column) for column in columns) + " |"
              for name, row in rows.items()]
    return "\n".join(lines)
