"""`genai-tf train/sample/score` for the text families, as a fresh install runs them."""

import json
from pydoc_data.topics import topics

import numpy as np
import pytest

from tests.test_cli import run_cli


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("text-cli")
    train, held_out = folder / "train.txt", folder / "held_out.txt"
    names = sorted(topics)
    train.write_text("\n\n".join(topics[name] for name in names[:40]), encoding="utf-8")
    held_out.write_text(topics[names[45]], encoding="utf-8")
    return folder, train, held_out


@pytest.fixture(scope="module")
def models(corpus):
    folder, train, _ = corpus
    runs = {}
    for family, extra in (("ngram", []), ("transformer", ["--epochs", "1", "--limit", "20000"])):
        output = folder / family
        runs[family] = (output, *run_cli(["train", family, "--text", train, "--output", output, *extra]))
    return runs


def test_train_writes_a_model_and_reports_validation_bits(models):
    for family, (output, code, out, err) in models.items():
        assert code == 0, err
        assert (output / "model.keras").is_file() and "bits/char" in out, family
    assert "counting" in models["ngram"][2]


def test_sample_prints_the_prompt_and_its_continuation(models):
    output = models["ngram"][0]
    code, out, err = run_cli(["sample", output, "--prompt", "The ", "--length", "50", "--seed", "3"])
    assert code == 0, err
    assert out.startswith("The ") and len(out.rstrip("\n")) >= 4 + 40
    again = run_cli(["sample", output, "--prompt", "The ", "--length", "50", "--seed", "3"])[1]
    assert again == out
    greedy = run_cli(["sample", output, "--prompt", "The ", "--length", "50", "--temperature", "0"])[1]
    assert greedy == run_cli(["sample", output, "--prompt", "The ", "--length", "50", "--top-k", "1"])[1]
    code, out, err = run_cli(["sample", models["transformer"][0], "--prompt", "def ", "--length", "20", "--top-p", "0.9"])
    assert code == 0 and out.startswith("def "), err


def test_score_prints_bits_and_json(models, corpus):
    _, _, held_out = corpus
    code, out, err = run_cli(["score", models["ngram"][0], "--text", held_out, "--json"])
    assert code == 0, err
    scores = json.loads(out)
    assert set(scores) == {"bits_per_char", "nats_per_char", "characters"}
    assert scores["characters"] == len(held_out.read_text()) - 1
    assert scores["bits_per_char"] == pytest.approx(scores["nats_per_char"] / np.log(2))
    # the transformer saw only the first 20,000 characters: the held-out text has characters it lacks
    code, _, err = run_cli(["score", models["transformer"][0], "--text", held_out])
    assert code == 1 and "vocabulary lacks" in err, err
    known = held_out.parent / "known.txt"
    known.write_text(corpus[1].read_text()[:3000], encoding="utf-8")
    code, out, err = run_cli(["score", models["transformer"][0], "--text", known])
    assert code == 0 and "bits/char" in out and "nats/char" in out, err


@pytest.mark.parametrize("argv, message", [
    (["sample", "{ngram}", "--prompt", "日本"], "never saw: '日', '本'"),
    (["sample", "{ngram}", "--num", "3"], "--length"),
    (["sample", "{ngram}", "--top-p", "1.5"], "--top-p"),
    (["sample", "{ngram}", "--temperature", "-1"], "--temperature"),
    (["sample", "{ngram}", "--steps", "5"], "does not apply to a text model"),
    (["train", "ngram", "--dataset", "mnist", "--output", "{tmp}"], "not a text source"),
    (["train", "vae", "--text", "{train}", "--output", "{tmp}"], "--text applies to text families"),
    (["train", "transformer", "--text", "{train}", "--latent-dim", "3", "--output", "{tmp}"],
     "--latent-dim does not apply to transformer"),
    (["train", "transformer", "--text", "{train}", "--image-size", "8", "--output", "{tmp}"],
     "--image-size applies to families that model images"),
])
def test_text_usage_errors_exit_2_and_say_why(models, corpus, tmp_path, argv, message):
    _, train, _ = corpus
    filled = [a.format(ngram=models["ngram"][0], tmp=tmp_path / "x", train=train) for a in argv]
    code, _, err = run_cli(filled)
    assert code == 2 and message in err, err


def test_failures_exit_1_and_say_why(models, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    code, _, err = run_cli(["score", models["ngram"][0], "--text", empty])
    assert code == 1 and "empty" in err.lower(), err
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("café".encode("latin-1"))
    code, _, err = run_cli(["score", models["ngram"][0], "--text", latin1])
    assert code == 1 and "UTF-8" in err, err
    code, _, err = run_cli(["score", models["ngram"][0], "--text", tmp_path / "missing.txt"])
    assert code == 1 and "missing.txt" in err, err


def test_scoring_an_image_model_lists_the_registrys_text_families():
    import argparse

    from genai_tf.cli import parser, sampling
    from genai_tf.models import registry

    with pytest.raises(parser.UsageError, match="is not a text model") as error:
        sampling.score_report(object(), argparse.Namespace(text="pydoc_topics", json=False))
    families = registry.families()
    assert all(name in str(error.value) for name, family in families.items() if family.data == "text")
    assert not any(name in str(error.value) for name, family in families.items() if family.data != "text")
