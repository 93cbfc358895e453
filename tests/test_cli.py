"""Tests of the ``genai-tf`` command line, called in-process through ``genai_tf.cli.main``."""

import contextlib
import glob
import io
import os
import sys

import numpy as np
import pytest

from genai_tf import cli, config, data
from genai_tf.data import images as image_data
from genai_tf.data import shared
from genai_tf.models import registry

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
    families = registry.families()  # the message lists the registry's image generators
    image_generators = [name for name, family in families.items() if family.generates and family.data == "images"]
    assert image_generators and all(name in error for name in image_generators)
    assert not any(name in error for name in families if name not in image_generators)


def test_sample_from_a_missing_folder(tmp_path, capsys):
    missing = tmp_path / "nothing-here"
    code = cli.main(["sample", str(missing), "--output", str(tmp_path / "s.npy")])
    assert code == 1  # a runtime error: the file is not there
    error = capsys.readouterr().err
    assert "No model at" in error and "genai-tf train" in error and error.count("\n") == 1
    assert f"--output {missing}`" in error  # the folder asked for, not its parent
    assert cli.main(["sample", str(missing / "model.keras"), "--output", str(tmp_path / "s.npy")]) == 1
    assert f"--output {missing}`" in capsys.readouterr().err  # the .keras file's folder


def _without_tensorflow_logging_settings():
    """This process's environment less what would quiet TensorFlow already (conftest sets some)."""
    return {key: value for key, value in os.environ.items()
            if key not in ("TF_CPP_MIN_LOG_LEVEL", "GRPC_VERBOSITY", config.DEBUG_ENV)}


def test_an_error_is_one_line_without_tensorflow_start_up_logging(tmp_path):
    """TensorFlow's C++ libraries log as they load (absl's "All log messages before
    absl::InitializeLog() ...", oneDNN's and CUDA's notes); the command silences that."""
    import subprocess

    result = subprocess.run([sys.executable, "-m", "genai_tf.cli", "sample", str(tmp_path / "no-such-dir"),
                             "--output", "x.npy"], capture_output=True, text=True, cwd=tmp_path,
                            env=_without_tensorflow_logging_settings(), timeout=300)
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [
        f"error: No model at {tmp_path / 'no-such-dir' / 'model.keras'}. Train one first, e.g. "
        f"`genai-tf train vae --output {tmp_path / 'no-such-dir'}`."], result.stderr


def test_debug_leaves_tensorflow_logging_alone():
    import subprocess

    code = ("import os, sys\nfrom genai_tf import cli\ncli.quiet_tensorflow()\n"
            "print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'), 'tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={**_without_tensorflow_logging_settings(), config.DEBUG_ENV: "1"})
    assert result.stdout.split() == ["None", "False"]


def test_train_unknown_dataset_lists_the_datasets(tmp_path, capsys):
    code = cli.main(["train", "vae", "--dataset", "nope", "--output", str(tmp_path / "out")])
    assert code == 2
    error = capsys.readouterr().err
    assert "'nope'" in error
    for name in image_data.SOURCES:
        assert name in error


def test_train_offline_without_data_says_how_to_fix_it(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv(config.DATA_DIR_ENV, str(empty))
    monkeypatch.setattr(shared, "network_available", lambda *args, **kwargs: False)
    monkeypatch.setattr(shared, "prepared", lambda builder: False)  # ignore any tfds cache
    code = cli.main(["train", "vae", "--dataset", "mnist", "--epochs", "1",
                     "--output", str(tmp_path / "out")])
    assert code == 1
    error = capsys.readouterr().err
    assert "'mnist'" in error and "network" in error
    assert "digits" in error and config.DATA_DIR_ENV in error and "mnist.npz" in error
    assert not (tmp_path / "out" / "model.keras").exists()


# A quick `genai-tf train` of each kind of data: a new kind adds its line.
TRAIN_ARGS = {
    "images": ["autoencoder", "--dataset", "digits", "--epochs", "1", "--limit", "64", "--batch-size", "32"],
    "text": ["ngram", "--dataset", "pydoc_topics", "--limit", "30000"],
}


@pytest.mark.parametrize("kind", list(data.KINDS))
def test_training_a_finished_run_again_says_so_and_exits_0(kind, tmp_path):
    assert kind in TRAIN_ARGS, f"add a quick `genai-tf train` of the kind {kind!r} to TRAIN_ARGS"
    assert registry.family(TRAIN_ARGS[kind][0]).data == kind
    argv = ["train", *TRAIN_ARGS[kind], "--output", tmp_path / "run"]
    code, out, err = run_cli(argv)
    assert code == 0 and (tmp_path / "run" / "model.keras").is_file(), err
    code, out, err = run_cli(argv)
    assert code == 0, err
    assert "already holds this finished run" in out and "--fresh" in out, out
    assert "unchanged:" in out and "saved" not in out, out  # nothing is written again


def test_unknown_family_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "stylegan", "--output", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "invalid choice: 'stylegan'" in capsys.readouterr().err


@pytest.mark.slow
def test_doctor_passes_on_this_machine(capsys):
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "tensorflow" in out and "digits" in out
    assert "[x] pydoc_topics" in out  # the bundled text corpus
    assert "doctor: all checks passed" in out


# --- usage errors (exit 2) and runtime errors (exit 1), each one clear line -----------------


@pytest.mark.parametrize(("argv", "message"), [
    (["train", "vae", "--epochs", "0", "--output", "x"], "--epochs: 0 is not allowed"),
    (["train", "vae", "--epochs", "two", "--output", "x"], "--epochs: 'two' is not a whole number"),
    (["train", "vae", "--minutes", "-1", "--output", "x"], "--minutes: -1 is not allowed"),
    (["train", "vae", "--minutes", "nan", "--output", "x"], "--minutes: nan is not allowed"),
    (["train", "vae", "--image-size", "0", "--output", "x"], "--image-size: 0 is not allowed"),
    (["train", "vae", "--batch-size", "-5", "--output", "x"], "--batch-size: -5 is not allowed"),
    (["train", "vae", "--seed", "-1", "--output", "x"], "--seed: -1 is not allowed"),
    (["train", "vae", "--clock", "gpu", "--output", "x"], "invalid choice: 'gpu'"),
    (["sample", "x", "--num", "0", "--output", "x.npy"], "--num: 0 is not allowed"),
    (["train", "vae"], "the following arguments are required: --output"),
])
def test_bad_options_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_version_and_help(capsys):
    import genai_tf

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0 and capsys.readouterr().out.strip() == f"genai-tf {genai_tf.__version__}"
    parser = cli.build_parser()
    for action in parser._subparsers._group_actions[0].choices.values():
        for option in action._actions:
            assert option.help, f"{action.prog} {option.dest} has no help text"
    for kind in data.KINDS:  # the help names every kind's sources
        assert all(name in cli.DATASET_HELP for name in data.kind(kind).SOURCES), kind


def test_help_answers_without_importing_tensorflow():
    import subprocess
    import sys
    import time

    code = ("import sys\nfrom genai_tf import cli\ntry:\n    cli.main(['train', '--help'])\n"
            "except SystemExit:\n    pass\nprint('tensorflow' in sys.modules, 'keras' in sys.modules)")
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    assert "--minutes" in result.stdout and "--fresh" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "False False"
    print(f"genai-tf train --help took {seconds:.2f} s")


def test_unknown_profile_is_one_line(monkeypatch, capsys):
    monkeypatch.setenv("GENAI_TF_PROFILE", "quick")
    assert cli.main(["sample", "x", "--output", "x.npy"]) == 2
    error = capsys.readouterr().err
    assert "GENAI_TF_PROFILE='quick' is not a known profile" in error and error.count("\n") == 1


def test_a_corrupt_model_file_is_one_line(tmp_path, capsys):
    (tmp_path / "model.keras").write_bytes(b"PK\x03\x04 truncated by a kill")
    assert cli.main(["sample", str(tmp_path), "--output", str(tmp_path / "s.npy")]) == 1
    error = capsys.readouterr().err
    assert "not a readable Keras model" in error and error.count("\n") == 1


def test_sample_rejects_bad_labels(trained, tmp_path, capsys):
    folder = trained["vae"][0]
    assert cli.main(["sample", str(folder), "--labels", "3", "--output", str(tmp_path / "s.npy")]) == 2
    error = capsys.readouterr().err
    assert "needs a conditional model" in error
    conditional = [name for name, family in registry.families().items() if family.conditional]
    assert conditional and all(name in error for name in conditional)


@pytest.mark.parametrize(("samples", "message"), [
    (np.full((4, 28, 28, 1), np.nan, "float32"), "NaN"),
    (np.zeros((4, 28, 28), "float32"), "Add the channel axis"),
    (np.zeros((4, 28, 28, 3), "float32"), "digits images at that size are (28, 28, 1)"),
    (np.zeros((4, 28, 32, 1), "float32"), "only square images"),
    (np.zeros((4, 28, 28, 1), "uint8"), "dtype uint8"),
    (np.full((4, 28, 28, 1), 2.0, "float32"), "values in [0, 1]"),
])
def test_evaluate_rejects_bad_samples_in_one_line(samples, message, tmp_path, capsys):
    path = tmp_path / "samples.npy"
    np.save(path, samples)
    assert cli.main(["evaluate", str(path), "--dataset", "digits", "--cache-dir", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1


def test_evaluate_a_missing_file_and_an_unknown_dataset(tmp_path, capsys):
    assert cli.main(["evaluate", str(tmp_path / "none.npy"), "--dataset", "digits"]) == 1
    assert "No samples at" in capsys.readouterr().err
    np.save(tmp_path / "s.npy", np.zeros((4, 28, 28, 1), "float32"))
    assert cli.main(["evaluate", str(tmp_path / "s.npy"), "--dataset", "mnst"]) == 2
    assert "Did you mean 'mnist'?" in capsys.readouterr().err


def _train_command(folder):
    return [sys.executable, "-m", "genai_tf.cli", "train", "vae", "--dataset", "digits", "--epochs", "4",
            "--limit", "512", "--batch-size", "64", "--latent-dim", "4", "--output", str(folder)]


@pytest.mark.slow
def test_train_killed_with_sigkill_and_rerun_ends_with_the_weights_of_an_unbroken_run(tmp_path):
    """The issue's 'done means', on digits: kill a real training process, rerun the same command."""
    import json
    import signal
    import subprocess
    import time

    import keras

    subprocess.run(_train_command(tmp_path / "unbroken"), check=True, capture_output=True)
    process = subprocess.Popen(_train_command(tmp_path / "killed"), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    state = tmp_path / "killed" / "resume" / "state.json"
    deadline = time.monotonic() + 300
    while not state.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # kill right after the first checkpoint (epoch 1 of 4)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert not (tmp_path / "killed" / "model.keras").exists()
    step = json.loads(state.read_text())["step"]
    result = subprocess.run(_train_command(tmp_path / "killed"), check=True, capture_output=True, text=True)
    assert f"resumed at step {step}" in result.stdout
    unbroken = keras.models.load_model(tmp_path / "unbroken" / "model.keras")
    resumed = keras.models.load_model(tmp_path / "killed" / "model.keras")
    for a, b in zip(unbroken.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_allclose(b, a, atol=1e-6)
    again = subprocess.run(_train_command(tmp_path / "killed"), check=True, capture_output=True, text=True)
    assert "already holds this finished run" in again.stdout


def test_train_and_sample_the_notebook_06_families(tmp_path, capsys):
    """genai-tf train wgan_gp|cgan, then sample the conditional one digit by request."""
    import keras

    for family in ("wgan_gp", "cgan"):
        folder = tmp_path / family
        assert cli.main(["train", family, "--dataset", "digits", "--epochs", "1", "--limit", "128",
                         "--batch-size", "40", "--output", str(folder)]) == 0, capsys.readouterr().err
        assert (folder / "model.keras").is_file()
    capsys.readouterr()
    output = tmp_path / "sevens.npy"
    assert cli.main(["sample", str(tmp_path / "cgan"), "--num", "4", "--labels", "7", "--seed", "3",
                     "--output", str(output)]) == 0
    model = keras.models.load_model(tmp_path / "cgan" / "model.keras")
    np.testing.assert_allclose(np.load(output), model.generate(4, seed=3, labels=[7] * 4), atol=1e-6)
    assert cli.main(["sample", str(tmp_path / "cgan"), "--labels", "10", "--output", str(output)]) == 2
    assert "classes run from 0 to 9" in capsys.readouterr().err
    assert cli.main(["sample", str(tmp_path / "wgan_gp"), "--labels", "1", "--output", str(output)]) == 2
    assert "needs a conditional model" in capsys.readouterr().err
