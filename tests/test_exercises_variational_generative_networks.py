"""Tests of genai_tf.exercises.variational_generative_networks, the self-checks of notebook 04
(VAE-GANs and conditional VAEs): each passes a correct answer and catches a typical mistake, with a
message that helps."""

import math

import numpy as np
from scipy import special

from genai_tf import losses
from genai_tf.exercises import variational_generative_networks as checks
from tests.test_exercises_engine import assert_fails, assert_passes, not_implemented


def feature_nll(real, reconstructed):
    difference = np.asarray(real, "float64") - np.asarray(reconstructed, "float64")
    return 0.5 * np.sum(difference.reshape(len(difference), -1) ** 2, axis=1)


def test_feature_reconstruction_nll_check():
    assert_passes(checks.feature_reconstruction_nll(feature_nll))
    assert_passes(checks.feature_reconstruction_nll(losses.feature_reconstruction_nll))  # keras tensors
    # the ½ of the unit-variance Gaussian forgotten
    assert_fails(checks.feature_reconstruction_nll(lambda a, b: 2.0 * feature_nll(a, b)),
                 "case 0", "Hint:", "½ Σ (real − reconstructed)²")
    # the Gaussian's ½ log 2π per feature kept: right up to a constant, but not what is asked
    assert_fails(checks.feature_reconstruction_nll(
        lambda a, b: feature_nll(a, b) + 0.5 * math.log(2 * math.pi) * np.prod(np.shape(a)[1:])),
        "case 0", "Hint:", "constant and is dropped")
    # a mean over features instead of a sum
    assert_fails(checks.feature_reconstruction_nll(
        lambda a, b: 0.5 * np.mean((np.asarray(a) - b).reshape(len(a), -1) ** 2, axis=1)), "case 0", "Hint:")
    # summed over the last axis only: fine for flat features, wrong for (batch, h, w, c) maps
    assert_fails(checks.feature_reconstruction_nll(lambda a, b: 0.5 * np.sum((np.asarray(a) - b) ** 2, axis=-1)),
                 "case 1", "returned shape (3, 2, 2)", "expected (3,)", "one value per example")
    # summed over the batch as well
    assert_fails(checks.feature_reconstruction_nll(lambda a, b: np.sum(feature_nll(a, b))),
                 "case 0", "returned shape ()", "expected (4,)")
    assert_fails(checks.feature_reconstruction_nll(not_implemented), "not implemented")


def kl_closed_form(z_mean, z_log_var):
    return 0.5 * np.sum(z_mean**2 + np.exp(z_log_var) - z_log_var - 1.0, axis=-1)


def log_px_on_logits(images, logits):
    x, logit = np.asarray(images, "float64"), np.asarray(logits, "float64")
    return np.sum(x * special.log_expit(logit) + (1 - x) * special.log_expit(-logit), axis=(1, 2, 3))


def test_conditional_elbo_check():
    assert_passes(checks.conditional_elbo(
        lambda x, logits, m, v: log_px_on_logits(x, logits) - kl_closed_form(m, v)))
    assert_passes(checks.conditional_elbo(  # with the course's loss terms, on keras tensors
        lambda x, logits, m, v: losses.elbo(losses.bernoulli_nll(x, logits), losses.gaussian_kl(m, v))))
    # wrong sign of the KL
    assert_fails(checks.conditional_elbo(lambda x, logits, m, v: log_px_on_logits(x, logits) + kl_closed_form(m, v)),
                 "case 0", "Hint:", "½ Σ_j (μ_j² + σ_j² − log σ_j² − 1)")
    # the training loss (negative ELBO) returned instead of the bound
    assert_fails(checks.conditional_elbo(lambda x, logits, m, v: -log_px_on_logits(x, logits) + kl_closed_form(m, v)),
                 "case 0", "Hint:", "mind the sign", "not a loss")
    # the KL without its ½
    assert_fails(checks.conditional_elbo(
        lambda x, logits, m, v: log_px_on_logits(x, logits) - 2.0 * kl_closed_form(m, v)), "case 0", "Hint:")

    def on_probabilities(x, logits, m, v):  # log σ(60) is fine, but log(1 − σ(60)) = log 0 in float32
        p = special.expit(np.asarray(logits, "float32"))
        with np.errstate(divide="ignore", invalid="ignore"):
            log_px = np.sum(x * np.log(p) + (1 - x) * np.log(1 - p), axis=(1, 2, 3))
        return log_px - kl_closed_form(m, v)

    assert_fails(checks.conditional_elbo(on_probabilities), "case 1", "inf", "Hint:", "Bernoulli NLL on logits")
    # averaged over the batch
    assert_fails(checks.conditional_elbo(
        lambda x, logits, m, v: np.mean(log_px_on_logits(x, logits) - kl_closed_form(m, v))),
        "case 0", "returned shape ()", "expected (5,)", "one value per example")
    assert_fails(checks.conditional_elbo(not_implemented), "not implemented")


def test_class_accuracy_check_knows_the_answer():
    def correct(model, classifier, digit, num_samples, seed):
        samples = model.generate(num_samples, seed=seed, labels=np.full(num_samples, digit))
        return float(np.mean(classifier.predict(samples) == digit))

    def forgets_the_labels(model, classifier, digit, num_samples, seed):
        return float(np.mean(classifier.predict(model.generate(num_samples, seed=seed)) == digit))

    def counts_the_wrong_way(model, classifier, digit, num_samples, seed):
        samples = model.generate(num_samples, seed=seed, labels=np.full(num_samples, digit))
        return float(np.mean(classifier.predict(samples) != digit))

    assert_passes(checks.class_accuracy(correct))
    for wrong in (lambda *args: 1.0, forgets_the_labels, counts_the_wrong_way):
        assert_fails(checks.class_accuracy(wrong), "case 0", "Hint:")
    assert_fails(checks.class_accuracy(not_implemented), "not implemented")


def report_with(model, images, labels, classifier, probe_half="other", swap_labels="new", compare_to="new",
                kl_reduce=np.mean):
    from sklearn import linear_model

    z_mean, z_log_var = (np.asarray(t, "float64") for t in model.encode(images, labels))
    kl = float(kl_reduce(losses.gaussian_kl(z_mean, z_log_var).numpy()))
    half = len(images) // 2
    probe = linear_model.LogisticRegression(max_iter=2000).fit(z_mean[:half], labels[:half])
    scored = slice(half, None) if probe_half == "other" else slice(None, half)
    new_labels = (labels + 1) % model.num_classes
    decoded = np.asarray(model.decode(z_mean, new_labels if swap_labels == "new" else labels))
    target = new_labels if compare_to == "new" else labels
    return {"kl": kl, "label_in_z": float(probe.score(z_mean[scored], labels[scored])),
            "swap_accuracy": float(np.mean(classifier.predict(decoded) == target))}


def test_code_report_check_catches_each_measurement_mistake():
    import functools

    assert_passes(checks.code_report(report_with))
    mistakes = {
        "label_in_z": dict(probe_half="same"),                       # scored on the probe's own training half
        "(y + 1) mod 10": dict(swap_labels="old", compare_to="old"),       # no swap at all
        "NEW labels": dict(compare_to="old"),                        # swapped, but compared with the old labels
        "mean over images": dict(kl_reduce=np.sum),                  # KL summed over the images
    }
    for fragment, mistake in mistakes.items():
        assert_fails(checks.code_report(functools.partial(report_with, **mistake)), fragment)
    assert_fails(checks.code_report(lambda *args: {"kl": 0.0}), "lacks")
    assert_fails(checks.code_report(not_implemented), "not implemented")
