"""Tests of the ``genai-tf`` command line, called in-process through ``genai_tf.cli.main``."""

import contextlib
import glob
import io
import os

import numpy as np
import pytest

from genai_tf import cli, data

pytestmark = pytest.mark.filterwarnings("ignore:`shuffle=True` was passed")


def run_cli(argv):
    """(exit code, stdout, stderr) of ``genai-tf ARGV``, for use outside function-scoped fixtures."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([str(arg) for arg in argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One short training run per family: {family: (folder, exit code, stdout)}."""
    runs = {}
    for family in ("autoencoder", "vae"):
        folder = tmp_path_factory.mktemp(f"cli-{family}")
        code, out, _ = run_cli(["train", family, "--dataset", "digits", "--epochs", "1",
                                "--output", folder, "--limit", "256", "--batch-size", "64"])
        runs[family] = (folder, code, out)
    return runs


@pytest.mark.parametrize("family", ["autoencoder", "vae"])
def test_train_writes_a_model_and_logs(trained, family):
    folder, code, out = trained[family]
    assert code == 0
    assert (folder / "model.keras").is_file()
    assert "final validation metrics: " in out and "loss=" in out
    runs = glob.glob(str(folder / "logs" / "cli" / f"*-{family}"))
    assert len(runs) == 1
    for split in ("train", "validation", "images"):
        assert glob.glob(os.path.join(runs[0], split, "events.out.tfevents.*")), split


def test_sample_writes_reproducible_images(trained, tmp_path, capsys):
    folder = trained["vae"][0]
    first, second, other = tmp_path / "a.npy", tmp_path / "b.npy", tmp_path / "c.npy"
    assert cli.main(["sample", str(folder), "--num", "5", "--output", str(first), "--seed", "1"]) == 0
    assert "wrote (5, 28, 28, 1)" in capsys.readouterr().out
    # the .keras file itself works too
    assert cli.main(["sample", str(folder / "model.keras"), "--num", "5", "--output", str(second),
                     "--seed", "1"]) == 0
    assert cli.main(["sample", str(folder), "--num", "5", "--output", str(other), "--seed", "2"]) == 0
    images = np.load(first)
    assert images.dtype == np.float32 and images.shape == (5, 28, 28, 1)
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert first.read_bytes() == second.read_bytes()
    assert not np.array_equal(np.load(other), images)


def test_sample_refuses_an_autoencoder(trained, tmp_path, capsys):
    output = tmp_path / "samples.npy"
    code = cli.main(["sample", str(trained["autoencoder"][0]), "--output", str(output)])
    assert code == 2
    error = capsys.readouterr().err
    assert "Autoencoder is not a generative model" in error and "vae" in error
    assert not output.exists()


def test_sample_from_a_missing_folder(tmp_path, capsys):
    missing = tmp_path / "nothing-here"
    code = cli.main(["sample", str(missing), "--output", str(tmp_path / "s.npy")])
    assert code == 2
    error = capsys.readouterr().err
    assert "no model at" in error and "genai-tf train" in error


def test_train_unknown_dataset_lists_the_datasets(tmp_path, capsys):
    code = cli.main(["train", "vae", "--dataset", "nope", "--output", str(tmp_path / "out")])
    assert code == 2
    error = capsys.readouterr().err
    assert "'nope'" in error
    for name in data.DATASETS:
        assert name in error


def test_train_offline_without_data_says_how_to_fix_it(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv(data.DATA_DIR_ENV, str(empty))
    monkeypatch.setattr(data, "network_available", lambda *args, **kwargs: False)
    monkeypatch.setattr(data, "_prepared", lambda builder: False)  # ignore any tfds cache
    code = cli.main(["train", "vae", "--dataset", "mnist", "--epochs", "1",
                     "--output", str(tmp_path / "out")])
    assert code == 2
    error = capsys.readouterr().err
    assert "'mnist'" in error and "network" in error
    assert "digits" in error and data.DATA_DIR_ENV in error and "mnist.npz" in error
    assert not (tmp_path / "out" / "model.keras").exists()


def test_unknown_family_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "transformer", "--output", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "invalid choice: 'transformer'" in capsys.readouterr().err


@pytest.mark.slow
def test_doctor_passes_on_this_machine(capsys):
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "tensorflow" in out and "digits" in out
    assert "doctor: all checks passed" in out
