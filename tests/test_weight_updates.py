"""Every model's ``train_step`` changes its weights through one method, ``LossTermsModel.update_weights``
(gradient, optional global-norm clipping, optimizer step): the place distribution and loss scaling
hook into. The walk over the registry covers a new family without editing this file."""

import ast
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import genai_tf
from genai_tf.models import base, registry

MODELS_DIR = Path(genai_tf.__file__).parent / "models"
TRAINED_FAMILIES = [name for name, family in registry.families().items() if not family.counted]
IMAGE_SHAPE = (28, 28, 1)
BATCH = 4


def _batch(family, model):
    """One small batch of what the family's train_step takes."""
    rng = np.random.default_rng(0)
    if family.data == "text":
        ids = rng.integers(0, model.vocabulary.size, size=(BATCH, model.context + 1)).astype("int32")
        return tf.constant(ids[:, :-1]), tf.constant(ids[:, 1:])
    size = BATCH * getattr(model, "critic_steps", 1)  # a Wasserstein step reads critic_steps batches
    images = rng.uniform(size=(size, *IMAGE_SHAPE)).astype("float32")
    return tf.constant(images), tf.constant(np.arange(size) % 10, dtype="int32")


def _build(family):
    if family.data == "text":
        from genai_tf.data.text import TextSpec, Vocabulary

        return family.build(TextSpec(Vocabulary("abcdefgh \n"), min(family.context, 16)), 0, 0)
    return family.build(IMAGE_SHAPE, 3 if family.latent_dim else 0, 0)


def _record_updates(model):
    """Wrap ``model.update_weights`` on the instance; returns the list its calls are recorded in."""
    calls = []
    helper = model.update_weights

    def recording(tape, loss, weights, optimizer=None, clip_norm=None):
        calls.append({"weights": list(weights), "optimizer": optimizer or model.optimizer, "clip_norm": clip_norm})
        return helper(tape, loss, weights, optimizer, clip_norm)

    model.update_weights = recording
    return calls


@pytest.mark.parametrize("name", [*TRAINED_FAMILIES, "wgan_clip"])
def test_every_train_step_updates_every_weight_through_the_helper(name):
    if name == "wgan_clip":  # the weight-clipped WGAN: a variant, two critic steps per train_step
        family = registry.family("wgan_gp").variant(name=name, constraint="clipping", optimizer="rmsprop",
                                                    critic_steps=2, filters=(8, 4), head_filters=4, d_filters=(4, 8))
    else:
        family = registry.family(name)
    keras.utils.set_random_seed(0)
    model = _build(family)
    assert isinstance(model, base.LossTermsModel)
    calls = _record_updates(model)
    before = [np.array(weight) for weight in model.trainable_weights]
    model.train_step(_batch(family, model))

    assert calls, f"{name}'s train_step never called update_weights"
    updated = {id(weight) for call in calls for weight in call["weights"]}
    missing = [weight.path for weight in model.trainable_weights if id(weight) not in updated]
    assert not missing, f"{name}: weights not updated through update_weights: {missing}"
    optimizers = list(base.model_optimizers(model).values())
    assert all(any(call["optimizer"] is optimizer for optimizer in optimizers) for call in calls)
    # every optimizer counted exactly the updates the helper made with it
    for optimizer in optimizers:
        assert int(optimizer.iterations.numpy()) == sum(call["optimizer"] is optimizer for call in calls)
    assert any(not np.array_equal(old, np.array(new)) for old, new in zip(before, model.trainable_weights, strict=True))
    if name == "wgan_clip":  # weight clipping, after each critic update, is kept
        assert len(calls) == 3
        for weight in model.critic.trainable_weights:
            assert float(np.max(np.abs(np.array(weight)))) <= model.clip_value + 1e-7
    if family.data == "text":  # clipped once, by the model, not again by the optimizer
        assert all(call["clip_norm"] == 1.0 for call in calls)
        assert model.optimizer.global_clipnorm is None and model.optimizer.clipnorm is None
    else:
        assert all(call["clip_norm"] is None for call in calls)


def _direct_updates(path: Path) -> list[str]:
    """The top-level functions and methods of a module that call ``<optimizer>.apply(...)`` /
    ``apply_gradients`` themselves, or take ``tape.gradient`` inside a ``train_step``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    functions += [item for node in tree.body if isinstance(node, ast.ClassDef)
                  for item in node.body if isinstance(item, ast.FunctionDef)]
    found = []
    for function in functions:
        for node in ast.walk(function):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            target = ast.unparse(node.func.value)
            if node.func.attr in ("apply", "apply_gradients") and "optimizer" in target.lower():
                found.append(f"{path.name}:{function.name}: {ast.unparse(node.func)}")
            if node.func.attr == "gradient" and function.name in ("train_step", "test_step"):
                found.append(f"{path.name}:{function.name}: {ast.unparse(node.func)}")
    return found


def test_no_model_applies_an_optimizer_itself():
    found = [hit for path in sorted(MODELS_DIR.glob("*.py")) if path.name != "base.py"
             for hit in _direct_updates(path)]
    # opponents.fit_opponent trains a bare discriminator or critic network (no model, no fit()) for the
    # notebooks' experiments with the generator frozen; it is the one optimizer step outside a model.
    assert found == ["opponents.py:fit_opponent: optimizer.apply"]


def test_clip_by_global_norm_matches_numpy():
    rng = np.random.default_rng(1)
    gradients = [rng.normal(size=(3, 4)).astype("float32"), None, rng.normal(size=(5,)).astype("float32")]
    norm = np.sqrt(sum(np.sum(g.astype("float64") ** 2) for g in gradients if g is not None))
    for clip_norm in (0.5 * norm, 2.0 * norm):  # clipped, and left alone
        clipped = base.clip_by_global_norm([None if g is None else tf.constant(g) for g in gradients], clip_norm)
        assert clipped[1] is None
        for got, g in zip(clipped, gradients, strict=True):
            if g is not None:
                np.testing.assert_allclose(np.asarray(got), g * min(1.0, clip_norm / norm), rtol=1e-6)
    clipped = base.clip_by_global_norm([tf.constant(g) for g in gradients if g is not None], 0.5 * norm)
    assert np.sqrt(sum(np.sum(np.asarray(g) ** 2) for g in clipped)) == pytest.approx(0.5 * norm, rel=1e-6)


@pytest.mark.parametrize("clip_norm", [None, 0.3, 100.0])
def test_update_weights_takes_one_clipped_step(clip_norm):
    """SGD(lr) on loss = a·u + ½‖v‖²: the gradient is (a, v), clipped to g · min(1, c/‖g‖)."""
    rng = np.random.default_rng(2)
    a, u0, v0 = (rng.normal(size=shape).astype("float32") for shape in ((4,), (4,), (2, 3)))
    u, v = keras.Variable(u0), keras.Variable(v0)
    model, rate = base.LossTermsModel(), 0.1
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(u * tf.constant(a)) + 0.5 * tf.reduce_sum(v * v)
    model.update_weights(tape, loss, [u, v], keras.optimizers.SGD(rate), clip_norm=clip_norm)
    norm = np.sqrt(np.sum(a.astype("float64") ** 2) + np.sum(v0.astype("float64") ** 2))
    scale = 1.0 if clip_norm is None else min(1.0, clip_norm / norm)
    np.testing.assert_allclose(np.asarray(u), u0 - rate * scale * a, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(v), v0 - rate * scale * v0, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make_optimizer", [lambda **clip: keras.optimizers.SGD(1e-2, **clip),
                                            lambda **clip: keras.optimizers.Adam(1e-2, beta_2=0.99, **clip)])
def test_clipping_in_the_helper_equals_the_optimizers_global_clipnorm(make_optimizer):
    """Moving the text models' clipping out of Adam(global_clipnorm=1) keeps every number."""
    rng = np.random.default_rng(3)
    start = rng.normal(size=(6,)).astype("float32")
    targets = tf.constant(10.0 * rng.normal(size=(6,)).astype("float32"))  # a gradient norm far above 1
    results = {}
    for where in ("helper", "optimizer", "nowhere"):
        weight = keras.Variable(start)
        optimizer = make_optimizer(**({"global_clipnorm": 1.0} if where == "optimizer" else {}))
        model = base.LossTermsModel()
        for _ in range(3):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(tf.square(weight - targets))
            model.update_weights(tape, loss, [weight], optimizer, clip_norm=1.0 if where == "helper" else None)
        results[where] = np.asarray(weight)
    np.testing.assert_array_equal(results["helper"], results["optimizer"])
    # the clipping acted (Adam's steps hardly depend on the gradient's scale, so only bit-exactly)
    assert not np.array_equal(results["helper"], results["nowhere"])
