"""Notebook 06's small experiments: short GAN runs at a fixed number of steps over seeds and
settings, each scored by cFID against its real-data floor (stability, the interpolation weights'
law, spectral normalisation), and the two-Gaussian toy in which the optimal conditional
discriminator is exactly of the projection form, Eq. (CGAN.1).
"""

from __future__ import annotations

import time

import keras
import numpy as np
from keras import layers, ops
from scipy import special

from genai_tf import sample_quality, tables, training
from genai_tf.models import opponents


def short_runs(recipes, dataset, steps, seeds, real_images, classifier, num_samples=500, sample_seed=7) -> list:
    """Train every recipe of ``recipes`` (``{label: registry Family}``) for ``steps`` steps with each
    seed (weights, noise and data order), then score ``num_samples`` samples against
    ``real_images`` (:func:`sample_quality.evaluate_samples`, its splits seeded by the run's seed).

    A conditional recipe draws class-balanced samples, and its row also has ``requested``, the
    share ``classifier`` reads as the requested class. A run whose loss turns NaN is a row with
    ``diverged`` true and a NaN cFID. Returns one dict per run: ``setting``, ``seed``, ``cfid``,
    ``floor``, ``precision``, ``recall``, ``cpu_seconds`` (training and scoring), ``diverged``.
    """
    rows = []
    for label, family in recipes.items():
        for seed in seeds:
            started = time.process_time()
            row = {"setting": label, "seed": int(seed), "diverged": False}
            try:
                run = training.train(family, training.family_dataset(family, dataset, seed=int(seed)), steps=int(steps),
                                     seed=int(seed), log=None, validation=False)
            except FloatingPointError:
                rows.append({**row, "diverged": True, "cfid": float("nan"), "floor": float("nan"),
                             "cpu_seconds": time.process_time() - started})
                continue
            labels = np.arange(num_samples) % run.model.num_classes if family.conditional else None
            samples = sample_quality.draw_samples(run.model, num_samples, seed=sample_seed, labels=labels)
            scores = sample_quality.evaluate_samples(samples, real_images, classifier, seed=int(seed))
            row.update({key: float(scores[key]) for key in ("cfid", "precision", "recall")})
            row["floor"] = float(scores["cfid_floor"])
            if labels is not None:
                row["requested"] = float(np.mean(classifier.predict(samples) == labels))
            rows.append({**row, "cpu_seconds": time.process_time() - started})
    return rows


def summarise(rows, key="cfid") -> dict:
    """Per setting of :func:`short_runs`' rows: ``runs``, ``diverged``, and the ``median``,
    ``min`` and ``max`` of ``key`` over the runs that did not diverge, and their ``max / min``
    (the spread across seeds)."""
    summary = {}
    for setting in dict.fromkeys(row["setting"] for row in rows):
        mine = [row for row in rows if row["setting"] == setting]
        values = np.array([row[key] for row in mine if not row["diverged"]], "float64")
        finite = values if len(values) else np.array([np.nan])
        summary[setting] = {"runs": len(mine), "diverged": sum(row["diverged"] for row in mine),
                            "median": float(np.median(finite)), "min": float(np.min(finite)),
                            "max": float(np.max(finite)), "max / min": float(np.max(finite) / np.min(finite))}
    return summary


def summary_markdown(rows, keys=("cfid",)) -> str:
    """A markdown table of :func:`short_runs`' rows, one line per setting: the runs, how many
    diverged, and for each of ``keys`` (``"cfid"``, ``"requested"``, …) the median, the min–max
    over seeds and max / min; then the real-data floor's median."""
    names = {"cfid": "cFID", "requested": "requested digit", "recall": "recall", "precision": "precision"}
    table = {}
    for setting, row in summarise(rows, keys[0]).items():
        line = {"runs": row["runs"], "diverged": row["diverged"]}
        for key in keys:
            stats = summarise([r for r in rows if r["setting"] == setting], key)[setting]
            line[f"{names.get(key, key)} median"] = stats["median"]
            line[f"{names.get(key, key)} min–max"] = f"{stats['min']:.3g}–{stats['max']:.3g}"
            line[f"{names.get(key, key)} max / min"] = stats["max / min"]
        line["floor"] = float(np.nanmedian([r["floor"] for r in rows if r["setting"] == setting]))
        table[setting] = line
    columns = list(next(iter(table.values())))
    formats = {column: "{:.3g}" for column in columns if column.endswith(("median", "max / min", "floor"))}
    return tables.markdown_table(table, columns, formats, index="setting")


# --- the projection discriminator's optimum (Eq. CGAN.1) ------------------------------------
def gaussian_classes(means, num_samples, rng):
    """``num_samples`` pairs (x, y): y uniform over the classes, x ~ N(means[y], I)."""
    means = np.asarray(means, "float64")
    labels = rng.integers(0, len(means), num_samples)
    return means[labels] + rng.normal(size=(num_samples, means.shape[1])), labels


def optimal_conditional_logit(x, labels, means_p, means_q):
    """log p(x, y) / q(x, y) for p(x | y) = N(μ_y, I), q(x | y) = N(ν_y, I) and the same class prior:
    (μ_y − ν_y)ᵀx − ½(‖μ_y‖² − ‖ν_y‖²), the logit of D*(x, y) = p / (p + q), of the projection
    form e_yᵀφ(x) with φ(x) = (x, 1)."""
    mu, nu = np.asarray(means_p, "float64")[labels], np.asarray(means_q, "float64")[labels]
    return np.sum((mu - nu) * x, axis=1) - 0.5 * (np.sum(mu**2, axis=1) - np.sum(nu**2, axis=1))


def logit_terms(x, labels, means_p, means_q):
    """The two terms of the optimal logit, ``(log p(y|x)/q(y|x), log p(x)/q(x))``, from the mixtures'
    densities (equal class priors, unit covariances): their sum is :func:`optimal_conditional_logit`."""
    def log_joint(means):  # log N(x; μ_k, I) for every class k, up to the same constant: (n, K)
        means = np.asarray(means, "float64")
        return -0.5 * np.sum((x[:, None, :] - means[None]) ** 2, axis=-1)

    joint_p, joint_q = log_joint(means_p), log_joint(means_q)
    marginal_p, marginal_q = special.logsumexp(joint_p, axis=1), special.logsumexp(joint_q, axis=1)
    rows = np.arange(len(x))
    posterior_ratio = (joint_p[rows, labels] - marginal_p) - (joint_q[rows, labels] - marginal_q)
    return posterior_ratio, marginal_p - marginal_q


def projection_discriminator(dim, num_classes):
    """A projection discriminator on points ``(x, y)`` packed as ``(batch, dim + 1)`` (the label
    last): logit ψ(φ(x)) + e_yᵀφ(x) with the fixed features φ(x) = (x, 1), Eq. (CGAN.1)."""
    points = keras.Input((dim + 1,))
    x = layers.Lambda(lambda p: p[:, :dim])(points)
    labels = layers.Lambda(lambda p: ops.cast(p[:, dim], "int32"))(points)
    features = layers.Lambda(lambda v: ops.concatenate([v, ops.ones_like(v[:, :1])], axis=-1))(x)  # φ(x)
    embedded = layers.Embedding(num_classes, dim + 1, embeddings_initializer="zeros")(labels)      # e_y
    logit = layers.Add()([layers.Dense(1)(features), layers.Dot(axes=-1)([embedded, features])])
    return keras.Model(points, logit, name="toy_projection_discriminator")


def fit_projection_toy(means_p, means_q, num_samples, steps, seed=0, learning_rate=0.05):
    """Train :func:`projection_discriminator` with Eq. (GAN.2) to tell (x, y) ~ p from (x, y) ~ q
    (``opponents.fit_discriminator``; fresh pairs every step), then compare its logit with the
    closed form on ``num_samples`` fresh pairs of each. Returns ``{"rms_error", "logit_sd",
    "correlation", "model"}``: the RMS gap, the optimal logit's spread, their correlation."""
    means_p, means_q = np.asarray(means_p, "float64"), np.asarray(means_q, "float64")
    dim, num_classes = means_p.shape[1], len(means_p)
    keras.utils.set_random_seed(seed)
    model = projection_discriminator(dim, num_classes)

    def sampler(means):
        def draw(n, rng):
            x, labels = gaussian_classes(means, n, rng)
            return np.concatenate([x, labels[:, None]], axis=1)
        return draw

    opponents.fit_discriminator(model, sampler(means_p), sampler(means_q), steps,
                                keras.optimizers.Adam(learning_rate), batch_size=512, seed=seed)
    rng = np.random.default_rng(seed + 1)
    points = np.concatenate([sampler(means_p)(num_samples, rng), sampler(means_q)(num_samples, rng)])
    optimal = optimal_conditional_logit(points[:, :dim], points[:, dim].astype(int), means_p, means_q)
    learned = np.asarray(model(points.astype("float32")))[:, 0]
    return {"rms_error": float(np.sqrt(np.mean((learned - optimal) ** 2))), "logit_sd": float(np.std(optimal)),
            "correlation": float(np.corrcoef(learned, optimal)[0, 1]), "model": model}
