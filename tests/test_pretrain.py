"""`genai-tf pretrain`: each family trained with its registered recipe into <output>/<family>/, the
layout the notebooks load, with a manifest whose sha256 and metrics are those of the saved model."""

import json

import numpy as np
import pytest

from genai_tf import checkpoints, cli, feature_classifier, pretrain, training
from genai_tf.data import images as image_data
from genai_tf.models import registry

pytestmark = pytest.mark.filterwarnings("ignore:`shuffle=True` was passed")


@pytest.fixture(scope="module")
def classifier():
    return feature_classifier.load_classifier("digits", image_data.load("digits", seed=0).image_shape, verbose=0)


def test_every_image_family_has_a_pretrain_budget_and_no_text_family_does():
    for name in registry.names():
        family = registry.family(name)
        assert (family.pretrain_budget is not None) == (family.data != "text"), name
    assert registry.family("dcgan").pretrain_budget == {"seconds": 1800.0, "clock": "cpu"}
    assert pretrain.pretrainable()[0] == "autoencoder" and "ngram" not in pretrain.pretrainable()


@pytest.mark.slow
def test_a_pretrained_generator_has_a_true_manifest_and_the_notebooks_load_it(tmp_path, classifier):
    manifest = pretrain.pretrain_family("dcgan", "digits", output=tmp_path, steps=2, num_samples=60,
                                        classifier=classifier, verbose=False)
    folder = tmp_path / "dcgan"
    on_disk = json.loads((folder / pretrain.MANIFEST_FILE).read_text())
    assert on_disk == manifest
    assert manifest["budget"] == {"steps": 2} and manifest["trained"]["steps"] == 2
    assert manifest["recipe"] == registry.family("dcgan").description
    assert manifest["batch_size"] == registry.family("dcgan").batch_size
    assert manifest["sha256"]["model.keras"] == pretrain.sha256(folder / training.MODEL_FILE)
    assert set(manifest["metrics"]) >= {"cfid", "cfid_floor", "precision", "recall", "max_class_ratio"}
    assert np.isfinite(manifest["metrics"]["cfid"]) and manifest["metrics"]["num_samples"] == 60
    assert pretrain.verify(folder) == manifest

    # the notebooks' one loader picks it up instead of training
    dataset = image_data.load("digits", batch_size=registry.family("dcgan").batch_size, seed=0)
    run = checkpoints.load_or_train("dcgan", "dcgan", dataset, root=tmp_path, steps=5, verbose=False)
    assert run.already_complete and run.steps == 2
    # the manifest's metrics are the saved model's: scored again from disk, they agree
    again = pretrain.judged_metrics(registry.family("dcgan"), run.model, dataset, classifier, 60, seed=0)
    assert again["cfid"] == pytest.approx(manifest["metrics"]["cfid"], rel=1e-4)

    # picked up, not retrained, when asked again with the same settings
    second = pretrain.pretrain_family("dcgan", "digits", output=tmp_path, steps=2, num_samples=60,
                                      classifier=classifier, verbose=False)
    assert second["trained"]["picked_up_finished_run"] and second["sha256"] == manifest["sha256"]

    (folder / training.MODEL_FILE).write_bytes((folder / training.MODEL_FILE).read_bytes() + b"\0")
    with pytest.raises(ValueError, match="does not match its manifest"):
        pretrain.verify(folder)


@pytest.mark.slow
def test_an_autoencoder_is_judged_by_its_test_mse_and_a_conditional_gan_by_the_digit_requested(tmp_path, classifier):
    ae = pretrain.pretrain_family("autoencoder", "digits", output=tmp_path, steps=2, classifier=classifier,
                                  verbose=False)
    model = training.load_model(tmp_path / "autoencoder")
    test = image_data.load("digits", seed=0).images("test")
    assert ae["metrics"]["test_mse"] == pytest.approx(float(np.mean((np.asarray(model(test)) - test) ** 2)), rel=1e-4)
    cgan = pretrain.pretrain_family("cgan", "digits", output=tmp_path, steps=2, num_samples=50,
                                    classifier=classifier, verbose=False)
    assert 0.0 <= cgan["metrics"]["requested_accuracy"] <= 1.0


def test_the_cli_trains_the_families_asked_for_and_refuses_unknown_and_text_ones(tmp_path, capsys):
    assert cli.main(["pretrain", "--families", "autoencoder", "--dataset", "digits", "--steps", "2",
                     "--output", str(tmp_path)]) == 0
    assert (tmp_path / "autoencoder" / pretrain.MANIFEST_FILE).exists()
    assert not (tmp_path / "vae").exists()
    assert cli.main(["pretrain", "--families", "nope", "--dataset", "digits", "--output", str(tmp_path)]) == 2
    assert "unknown ['nope']" in capsys.readouterr().err
    assert cli.main(["pretrain", "--families", "transformer", "--dataset", "digits", "--steps", "1",
                     "--output", str(tmp_path)]) == 1
    assert "text family" in capsys.readouterr().err
