"""The ``genai-tf`` command line's parser: its commands, options and argument types.

Building the parser imports neither TensorFlow nor Keras (the families come from the registry's
names), so ``genai-tf --help`` is quick. Each argument type names what was wrong with a value.
"""

from __future__ import annotations

import argparse
import math

DESCRIPTION = "The genai-tf command: doctor, train, pretrain, sample, score, evaluate, student and site."
DATASET_HELP = ("images: digits (bundled with scikit-learn, offline), mnist, fashion_mnist or cifar10 "
                "(default mnist); text: pydoc_topics (bundled, offline), tiny_shakespeare or shakespeare "
                "(default pydoc_topics)")
IMAGE_DATASET_HELP = "digits (bundled with scikit-learn, offline), mnist, fashion_mnist or cifar10"


class UsageError(Exception):
    """The command line asks for something impossible: exit status 2."""


# --- argument types: each names what was wrong -------------------------------------------
def whole_number(minimum: int):
    """An argparse type: a whole number >= ``minimum``, or an error that says so."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is not allowed: use a whole number >= {minimum}")
        return value

    return parse


positive_int, non_negative_int = whole_number(1), whole_number(0)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text} is not allowed: use a number > 0")
    return value


# `genai-tf train`'s options that belong to one kind of data (a new kind adds its line): the
# options passed on to the kind's load, and the option naming a file of the kind's data.
KIND_OPTIONS = {"images": ("image_size",), "text": ()}
FILE_OPTIONS = {"text": "text"}


def check_dataset_name(name: str) -> None:
    """A :class:`UsageError` (exit 2) for an unknown image dataset name, with the known ones."""
    from genai_tf.data import images

    try:
        images.check_name(name)
    except ValueError as error:
        raise UsageError(str(error)) from None


def check_source(name: str, kind_name: str) -> None:
    """A :class:`UsageError` (exit 2) unless ``name`` is a named source of ``kind_name``."""
    from genai_tf import data
    from genai_tf.data import shared

    sources = data.kind(kind_name).SOURCES
    if name not in sources:
        option = FILE_OPTIONS.get(kind_name)
        files = f", or --{option} FILE for a file of your own" if option else ""
        raise UsageError(f"--dataset {name!r} is not a {kind_name} source: choose one of {sources}{files}."
                         f"{shared.did_you_mean(name, sources)}")


# --- the parser --------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    import genai_tf
    from genai_tf.models import registry

    parser = argparse.ArgumentParser(prog="genai-tf", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"genai-tf {genai_tf.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("doctor", help="check this machine is ready for the course",
                        description="Print versions, devices and offline datasets; train a tiny VAE for 5 s.")

    trainer = commands.add_parser(
        "train", help="train a model into DIR (model.keras, logs/), resuming a killed run",
        description="Train a model family with its recipe. Checkpoints go to DIR/resume every epoch "
                    "and every --checkpoint-minutes; the same command run again resumes there.")
    trainer.add_argument("family", choices=registry.names(), help="the model family: %(choices)s")
    trainer.add_argument("--dataset", default=None, help=DATASET_HELP)
    trainer.add_argument("--text", default=None, help="text families: train on this UTF-8 file")
    trainer.add_argument("--epochs", type=positive_int, default=None,
                         help="passes over the training data (default 10, unless --minutes is given)")
    trainer.add_argument("--minutes", type=positive_float, default=None,
                         help="a training time budget in minutes; with --epochs too, whichever ends first")
    trainer.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                         help="what --minutes counts: wall time, or process CPU time (default: %(default)s)")
    trainer.add_argument("--output", required=True, help="folder for model.keras, training.json, logs/ and resume/")
    trainer.add_argument("--fresh", action="store_true", help="delete an earlier run in --output and start over")
    trainer.add_argument("--seed", type=non_negative_int, default=0,
                         help="seeds the data split, weights and noise (default: %(default)s)")
    trainer.add_argument("--latent-dim", type=positive_int, default=None, help="latent size (default: the family's)")
    trainer.add_argument("--batch-size", type=positive_int, default=None, help="batch size (default: the family's)")
    trainer.add_argument("--image-size", type=positive_int, default=None, help="resize images to SIZE×SIZE (default: 28)")
    trainer.add_argument("--limit", type=positive_int, default=None,
                         help="use only this many training examples (text: the first N characters)")
    trainer.add_argument("--checkpoint-minutes", type=positive_float, default=10.0,
                         help="also checkpoint this often within an epoch (default: %(default)s)")

    sampler = commands.add_parser("sample", help="write generated images to a .npy file, or print generated text",
                                  description="Load a trained model and write its samples to a .npy file "
                                              "(images) or print them (text).")
    sampler.add_argument("model_dir", help="a folder with model.keras (or the .keras file)")
    sampler.add_argument("--num", type=positive_int, default=None, help="how many images (default: 64)")
    sampler.add_argument("--output", default=None,
                         help="images: FILE.npy, float32 (N, H, W, C) in [0, 1] (required); text: also write it here")
    sampler.add_argument("--seed", type=non_negative_int, default=0, help="seeds the latents (default: %(default)s)")
    sampler.add_argument("--labels", default=None,
                         help="conditional models: one class for all samples (e.g. 3) or one per sample (0,1,2,...)")
    sampler.add_argument("--steps", type=positive_int, default=None,
                         help="diffusion: sampling steps, at most the training chain's (default: the model's, 25)")
    sampler.add_argument("--eta", type=float, default=None,
                         help="diffusion: DDIM's η in [0, 1]; 0 deterministic (default), 1 DDPM's variance")
    sampler.add_argument("--solver", choices=("ddim", "dpm++2m"), default=None,
                         help="diffusion: the update, DPM-Solver++(2M) (default at η = 0) or DDIM (the only one at η > 0)")
    sampler.add_argument("--guidance", type=float, default=None,
                         help="diffusion with --labels: classifier-free guidance weight w ≥ 0 (default: the model's)")
    sampler.add_argument("--null-class", action="store_true", default=None,
                         help="diffusion without --labels: sample the null class ε(x, ∅) instead of drawing each "
                              "sample's class from the training labels' shares (the default)")
    sampler.add_argument("--prompt", default=None, help="text: the characters to continue (default: a newline)")
    sampler.add_argument("--length", type=non_negative_int, default=None,
                         help="text: how many characters to generate (default: 200)")
    sampler.add_argument("--temperature", type=float, default=None,
                         help="text: divide the logits by T ≥ 0 (0 greedy; default 1)")
    sampler.add_argument("--top-k", type=positive_int, default=None, help="text: sample among the K likeliest")
    sampler.add_argument("--top-p", type=float, default=None,
                         help="text: sample among the smallest set of characters with probability ≥ P")

    scorer = commands.add_parser("score", help="bits and nats per character of a text model on a text",
                                 description="Score a trained text model on a UTF-8 file: the average negative "
                                             "log-likelihood of each character given the ones before it.")
    scorer.add_argument("model_dir", help="a folder with model.keras (or the .keras file) of a text family")
    scorer.add_argument("--text", required=True, help="a UTF-8 file (or a corpus name: pydoc_topics, ...)")
    scorer.add_argument("--json", action="store_true",
                        help='print {"bits_per_char": ..., "nats_per_char": ..., "characters": ...}')

    pretrainer = commands.add_parser(
        "pretrain", help="train every family with its benchmark recipe and budget, with a manifest",
        description="Train each family (default: every family with a pretrain budget in the registry) with "
                    "its registered recipe for its benchmark's budget into OUTPUT/<family>/ (model.keras, "
                    "training.json), the layout notebooks load, then score it and write manifest.json "
                    "(recipe, budget, date, metrics, sha256 of the weights). A killed run resumes; a finished "
                    "one is picked up.")
    pretrainer.add_argument("--families", default=None, help="comma-separated (default: all pretrainable)")
    pretrainer.add_argument("--dataset", default="mnist", help=IMAGE_DATASET_HELP + " (default: %(default)s)")
    pretrainer.add_argument("--data-dir", default=None, help="folder with <dataset>.npz (else $GENAI_TF_DATA_DIR / tfds)")
    pretrainer.add_argument("--output", default=None, help="default: checkpoints/<dataset> ($GENAI_TF_CHECKPOINT_DIR)")
    pretrainer.add_argument("--steps", type=positive_int, default=None,
                            help="train this many steps instead of the budget (a quick check)")
    pretrainer.add_argument("--num-samples", type=positive_int, default=2000,
                            help="samples scored for the manifest (default: %(default)s)")
    pretrainer.add_argument("--seed", type=non_negative_int, default=0, help="default: %(default)s")

    students = commands.add_parser("student", help="write notebooks with the solutions removed",
                                   description="Copy notebooks, replacing every cell tagged 'solution' by a stub "
                                               "(needs the course extra: pip install \"genai-tf[course]\").")
    students.add_argument("notebooks", nargs="+", help="notebooks/NN_topic.ipynb ...")
    students.add_argument("--output", required=True, help="folder for the student copies")

    sites = commands.add_parser("site", help="build the course as HTML pages that work offline",
                                description="Render every notebook (as committed, not executed) and the "
                                            "course map as HTML, with MathJax and the reference figures "
                                            "copied in, so the pages load nothing from the network "
                                            "(needs the course extra: pip install \"genai-tf[course]\").")
    sites.add_argument("--output", default="site",
                       help="folder for index.html and the pages: new, empty, or a site built before, "
                            "which is replaced (default: %(default)s)")
    sites.add_argument("--notebooks", default=None,
                       help="the folder of NN_topic.ipynb notebooks (default: the course's notebooks/)")

    evaluator = commands.add_parser("evaluate", help="score generated images: cFID, KID, IS, precision/recall",
                                    description="Score samples against the dataset's test split in the "
                                                "course classifier's feature space.")
    evaluator.add_argument("samples", help="SAMPLES.npy, float32 (N, H, W, C) in [0, 1]")
    evaluator.add_argument("--dataset", required=True, help=IMAGE_DATASET_HELP)
    evaluator.add_argument("--num-real", type=positive_int, default=None, help="cap the real test images")
    evaluator.add_argument("--seed", type=non_negative_int, default=0, help="seeds the subsets (default: %(default)s)")
    evaluator.add_argument("--cache-dir", default=None,
                           help="classifier cache (default $GENAI_TF_CACHE_DIR or ~/.cache/genai_tf)")
    return parser
