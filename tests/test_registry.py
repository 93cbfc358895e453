"""The family registry: every entry trains a step on digits, saves, loads with identical outputs
and samples reproducibly. A new family is covered by adding its registry entry."""

import importlib
import json
import subprocess
import sys

import keras
import numpy as np
import pytest

from genai_tf import data, training
from genai_tf.models import registry

pytestmark = pytest.mark.filterwarnings("ignore:`shuffle=True` was passed")

IMAGE_SHAPE = (28, 28, 1)


def test_registry_and_modules_agree():
    """Each entry names a module that declares it; no module declares an unregistered family."""
    for module_name in set(registry.FAMILY_MODULES.values()):
        module = importlib.import_module(f"genai_tf.models.{module_name}")
        declared = set(module.FAMILIES)
        registered = {name for name, where in registry.FAMILY_MODULES.items() if where == module_name}
        assert declared == registered, module_name
        for name, family in module.FAMILIES.items():
            assert family.name == name
            assert family.data in data.KINDS
    assert list(registry.families()) == list(registry.names())


def test_listing_the_families_does_not_import_tensorflow():
    code = ("import sys; from genai_tf.models import registry; print(registry.names()); "
            "print('tensorflow' in sys.modules or 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == [str(registry.names()), "False"]


def test_unknown_family_lists_the_families_and_suggests_one():
    with pytest.raises(ValueError) as error:
        registry.family("dcgna")
    message = str(error.value)
    assert "'dcgna'" in message and "Did you mean 'dcgan'?" in message
    for name in registry.names():
        assert name in message


def test_a_family_with_a_bad_declaration_is_refused():
    with pytest.raises(ValueError, match="data='audio'"):
        registry.Family("x", build=None, model_class=object, latent_dim=2, description="", data="audio")
    with pytest.raises(ValueError, match="declares its context"):
        registry.Family("x", build=None, model_class=object, latent_dim=0, description="", data="text")
    with pytest.raises(ValueError, match="only text families are counted"):
        registry.Family("x", build=None, model_class=object, latent_dim=2, description="", counted=True)
    with pytest.raises(ValueError, match="decay_start=1.0"):
        registry.Family("x", build=None, model_class=object, latent_dim=2, description="", decay_start=1.0)


def test_schedule_callbacks_decay_only_where_the_recipe_says():
    from genai_tf.training.callbacks import TimeBudget
    from genai_tf.training.schedule import LearningRateDecay, schedule_callbacks

    assert schedule_callbacks(registry.family("autoencoder")) == []
    (cosine,) = schedule_callbacks(registry.family("vae"), total_steps=100)
    assert (cosine.shape, cosine.start, cosine.final_fraction, cosine.total_steps) == ("cosine", 0.0, 0.02, 100)
    budget = TimeBudget(60.0)
    (decay,) = schedule_callbacks(registry.family("dcgan"), budget)
    assert isinstance(decay, LearningRateDecay)
    assert (decay.shape, decay.start, decay.final_fraction) == ("linear", registry.family("dcgan").decay_start, 0.0)
    assert decay.budget is budget
    model = registry.family("dcgan").build(IMAGE_SHAPE, 3, 0)
    assert float(model.d_optimizer.learning_rate) == float(model.g_optimizer.learning_rate) == pytest.approx(4e-4)


def _sample(family, model, seed):
    labels = np.arange(6) % 10 if family.conditional else None
    return np.asarray(family.sample(model, 6, seed=seed, labels=labels))


FAMILIES_BY_KIND = {kind: list(registry.families(kind)) for kind in data.KINDS}
IMAGE_FAMILIES, TEXT_FAMILIES = FAMILIES_BY_KIND["images"], FAMILIES_BY_KIND["text"]
# kind -> the test below that trains, saves, loads and samples each of its families
ROUND_TRIP_TESTS = {"images": "test_every_image_family_trains_saves_loads_and_samples",
                    "text": "test_every_text_family_trains_saves_loads_scores_and_samples"}


@pytest.mark.parametrize("kind", list(data.KINDS))
def test_every_kind_has_families_and_a_round_trip_test(kind):
    assert FAMILIES_BY_KIND[kind], f"no registered family trains on the kind {kind!r}"
    assert kind in ROUND_TRIP_TESTS and ROUND_TRIP_TESTS[kind] in globals(), (
        f"the kind {kind!r} has no train/save/load/sample test here: add one and name it in ROUND_TRIP_TESTS")


@pytest.mark.parametrize("kind", list(data.KINDS))
def test_a_family_refuses_data_of_another_kind_and_says_how_to_load_its_own(kind):
    family = registry.family(FAMILIES_BY_KIND[kind][0])
    for other in data.KINDS:
        if other == kind:
            continue
        module = data.kind(other)
        wrong = module.load(module.DEFAULT, limit=60_000 if other == "text" else 16)
        with pytest.raises(ValueError) as error:
            training.train(family, wrong, steps=1, log=None)
        message = str(error.value)
        assert f"{family.name} models {kind}" in message and f"genai_tf.data.kind({kind!r})" in message, message


@pytest.mark.parametrize("name", IMAGE_FAMILIES)
def test_every_image_family_trains_saves_loads_and_samples(name, tmp_path):
    family = registry.family(name)
    digits = training.family_dataset(family, "digits", batch_size=32, limit=64, seed=0)
    latent_dim = 3 if family.latent_dim else None  # diffusion has no separate latent
    run = training.train(family, digits, steps=2, seed=0, latent_dim=latent_dim, output=tmp_path / name, log=None)
    model = run.model
    assert run.steps == 2 and type(model) is family.model_class
    assert all(np.all(np.isfinite(values)) for values in run.history.values())
    summary = json.loads((tmp_path / name / training.SUMMARY_FILE).read_text())
    assert summary["complete"] and summary["settings"]["family"] == name
    assert not (tmp_path / name / "resume").exists()

    loaded = keras.models.load_model(tmp_path / name / training.MODEL_FILE)
    assert type(loaded) is family.model_class
    for original, restored in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_allclose(restored, original, atol=1e-6)
    images = digits.images("validation")[:6]
    if family.generates:
        samples = _sample(family, model, seed=7)
        assert samples.shape == (6, *digits.image_shape) and samples.dtype == np.float32
        assert samples.min() >= 0.0 and samples.max() <= 1.0
        np.testing.assert_allclose(_sample(family, loaded, seed=7), samples, atol=1e-6)  # loaded = original
        np.testing.assert_array_equal(_sample(family, model, seed=7), samples)  # a fixed seed repeats
        assert not np.allclose(_sample(family, model, seed=8), samples)  # and another seed differs
    else:
        with pytest.raises(ValueError, match="does not generate"):
            family.sample(model, 2)
    if family.reconstructs:  # the encoder is restored too (deterministic: z_mean, or the code itself)
        for mine, theirs in zip(keras.tree.flatten(model.encode(images)), keras.tree.flatten(loaded.encode(images)),
                                strict=True):
            np.testing.assert_allclose(np.asarray(theirs), np.asarray(mine), atol=1e-6)
    # the loaded model trains on from the saved optimizer state
    names = getattr(loaded, "optimizer_names", ()) or ("optimizer",)
    for optimizer_name in names:  # a Wasserstein critic makes critic_steps updates per step
        expected = 2 * (loaded.critic_steps if optimizer_name == "critic_optimizer" else 1)
        assert int(getattr(loaded, optimizer_name).iterations.numpy()) == expected, optimizer_name
    if family.generates and not family.conditional:
        with pytest.raises(ValueError, match="not conditional"):
            family.sample(model, 2, labels=[0, 1])


@pytest.fixture(scope="module")
def corpus_text():
    from genai_tf.data import text

    return text.load_text("pydoc_topics")[1][:30_000]


@pytest.mark.parametrize("name", TEXT_FAMILIES)
def test_every_text_family_trains_saves_loads_scores_and_samples(name, tmp_path, corpus_text):
    family = registry.family(name)
    path = tmp_path / "corpus.txt"
    path.write_text(corpus_text, encoding="utf-8")
    corpus = training.family_dataset(family, str(path), batch_size=8, seed=0)
    run = training.train(family, corpus, steps=2, seed=0, output=tmp_path / name, log=None)
    model = run.model
    assert type(model) is family.model_class and run.steps == (0 if family.counted else 2)
    assert model.vocabulary == corpus.vocabulary and 1 <= model.context <= family.context
    loaded = keras.models.load_model(tmp_path / name / training.MODEL_FILE)
    assert type(loaded) is family.model_class and loaded.vocabulary == corpus.vocabulary

    held_out = corpus.ids("test")
    scores = model.score(held_out)
    assert scores["characters"] == sum(len(block) - 1 for block in held_out)
    assert scores["bits_per_char"] == pytest.approx(scores["nats_per_char"] / np.log(2))
    assert 0 < scores["nats_per_char"] < np.inf
    if family.counted:  # counting is exact: far better than the uniform log V at once
        assert scores["nats_per_char"] < 0.75 * np.log(corpus.vocabulary.size)
    assert loaded.score(held_out)["nats_per_char"] == pytest.approx(scores["nats_per_char"], rel=1e-5)

    prompt = corpus_text[:20]
    sample = model.generate(prompt, 30, seed=3)
    assert isinstance(sample, str) and len(sample) == 30 and not corpus.vocabulary.unknown(sample)
    assert model.generate(prompt, 30, seed=3) == sample == loaded.generate(prompt, 30, seed=3)
    assert {model.generate(prompt, 30, seed=s) for s in range(4, 8)} != {sample}
    with pytest.raises(ValueError, match="generates text"):
        family.sample(model, 2)


def test_a_variant_passes_settings_to_the_builder_and_leaves_the_registry_alone():
    family = registry.family("wgan_gp")
    paper = family.variant(name="wgan_gp_paper", fields={"batch_size": 320, "decay_start": None}, critic_steps=5,
                           critic_lr=1e-4, filters=(8, 4), head_filters=4, d_filters=(4, 8))
    assert (paper.name, paper.batch_size, paper.decay_start) == ("wgan_gp_paper", 320, None)
    assert paper.model_class is family.model_class
    model = paper.build((28, 28, 1), 8, 0)
    assert model.critic_steps == 5
    assert float(model.critic_optimizer.learning_rate) == pytest.approx(1e-4)
    assert float(model.g_optimizer.learning_rate) == pytest.approx(1e-4)
    assert model.critic.count_params() < family.build((28, 28, 1), 8, 0).critic.count_params()
    # the registry's own recipe is untouched: one critic step of 64 at 4e-4, G at 1e-4, decayed
    recipe = family.build((28, 28, 1), 8, 0)
    assert (family.batch_size, family.decay_start, recipe.critic_steps) == (64, 0.5, 1)
    assert float(recipe.critic_optimizer.learning_rate) == pytest.approx(4e-4)
    assert family.variant() == family
    clipped = family.variant(constraint="clipping", optimizer="rmsprop", critic_lr=5e-5, g_lr=5e-5,
                             filters=(8, 4), head_filters=4, d_filters=(4, 8)).build((28, 28, 1), 8, 0)
    assert clipped.constraint == "clipping" and type(clipped.g_optimizer).__name__ == "RMSprop"
    with pytest.raises(ValueError, match="optimizer"):
        family.variant(optimizer="sgd").build((28, 28, 1), 8, 0)
    auxiliary = registry.family("cgan").variant(name="cgan_auxiliary", head="auxiliary", filters=(8, 4),
                                                head_filters=4, d_filters=(4, 8)).build((28, 28, 1), 8, 0)
    assert auxiliary.head == "auxiliary"


def test_a_one_optimizer_variant_takes_a_learning_rate_and_builder_settings():
    beta_cvae = registry.family("cvae").variant(name="cvae_beta4", beta=4.0, learning_rate=3e-3, filters=(8, 16),
                                                dense_units=16)
    model = beta_cvae.build((28, 28, 1), 2, 0)
    assert model.beta == 4.0 and model.latent_dim == 2
    assert float(model.optimizer.learning_rate) == pytest.approx(3e-3)
    assert float(registry.family("cvae").build((28, 28, 1), 2, 0).optimizer.learning_rate) == pytest.approx(1e-3)
