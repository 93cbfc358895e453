"""The ``genai-tf`` command: ``doctor``, ``train``, ``sample``, ``score``, ``evaluate``, ``student`` and ``site``.

For instructors pre-training checkpoints before a class, for a room's set-up check, and for
the benchmarks::

    genai-tf doctor
    genai-tf train vae --dataset mnist --epochs 30 --output checkpoints/vae
    genai-tf train dcgan --dataset mnist --minutes 15 --output checkpoints/dcgan
    genai-tf sample checkpoints/vae --num 64 --output samples.npy
    genai-tf evaluate samples.npy --dataset mnist
    genai-tf sample checkpoints/cvae --num 10 --labels 0,1,2,3,4,5,6,7,8,9 --output digits.npy
    genai-tf train diffusion --dataset mnist --minutes 30 --clock cpu --output checkpoints/mnist/diffusion
    genai-tf sample checkpoints/mnist/diffusion --num 10000 --steps 25 --output samples.npy
    genai-tf sample checkpoints/mnist/diffusion --num 100 --labels 7 --guidance 1 --output sevens.npy
    genai-tf student notebooks/*.ipynb --output student/
    genai-tf train transformer --text plays.txt --minutes 20 --output checkpoints/text/transformer
    genai-tf sample checkpoints/text/transformer --prompt "ROMEO:" --length 300 --temperature 0.8
    genai-tf score checkpoints/text/transformer --text held_out.txt --json
    genai-tf site --output site/

``train`` checkpoints into ``--output`` as it goes; the same command run again after a kill
resumes where it stopped (``--fresh`` starts over). Exit status: 0 on success, 1 when the
command fails while running (missing or corrupt files, data that can't be had, a NaN loss),
2 for a usage error (a bad option or value). Set ``GENAI_TF_DEBUG=1`` for full tracebacks.

Building the parser imports neither TensorFlow nor Keras, so ``genai-tf --help`` is quick.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

DATASET_HELP = ("images: digits (bundled with scikit-learn, offline), mnist, fashion_mnist or cifar10 "
                "(default mnist); text: pydoc_topics (bundled, offline), tiny_shakespeare or shakespeare "
                "(default pydoc_topics)")
IMAGE_DATASET_HELP = "digits (bundled with scikit-learn, offline), mnist, fashion_mnist or cifar10"


class UsageError(Exception):
    """The command line asks for something impossible: exit status 2."""


def _quiet_tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


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


# --- the commands ------------------------------------------------------------------------
def doctor(args) -> int:
    """Print versions, devices and offline datasets, then train a tiny VAE for ~5 s."""
    _quiet_tensorflow()
    from genai_tf import doctor as setup_check

    report = setup_check.environment_report()
    print(setup_check.format_report(report))
    print("training smoke test: conv VAE on digits ...", flush=True)
    result = setup_check.training_smoke_test(seconds=5.0)
    print(setup_check.format_training(result))
    ok = result["ok"] and not report["problems"]
    print("doctor: all checks passed" if ok else "doctor: a check failed")
    return 0 if ok else 1


def train(args) -> int:
    """Train one family on one dataset into ``--output``, resuming an unfinished run there."""
    _quiet_tensorflow()
    from genai_tf import training
    from genai_tf.models import registry

    family = registry.family(args.family)
    if family.text:
        return _train_text(args, family)
    if args.text is not None:
        raise UsageError(f"--text applies to text families; {args.family} models images (use --dataset).")
    args.dataset = args.dataset or "mnist"
    args.image_size = 28 if args.image_size is None else args.image_size
    if args.latent_dim is not None and not family.latent_dim:
        raise UsageError(f"--latent-dim does not apply to {args.family}: it has no separate latent "
                         f"(its x_T has the image's shape).")
    _check_dataset_name(args.dataset)
    epochs = args.epochs if args.epochs is not None or args.minutes is not None else 10
    seconds = None if args.minutes is None else 60.0 * args.minutes
    dataset = training.family_dataset(family, args.dataset, seed=args.seed, batch_size=args.batch_size,
                                      image_size=args.image_size, limit=args.limit)
    budget = " and ".join(part for part in (
        f"{epochs} epochs" if epochs else "", f"{args.minutes:g} min ({args.clock} clock)" if seconds else "") if part)
    print(f"training {args.family} ({family.description}) on {args.dataset} {dataset.image_shape}, "
          f"batch {dataset.batch_size}, for {budget}; checkpoints in {Path(args.output) / 'resume'}", flush=True)
    run = training.train(family, dataset, epochs=epochs, seconds=seconds, clock=args.clock, seed=args.seed,
                         latent_dim=args.latent_dim, output=args.output, fresh=args.fresh,
                         checkpoint_seconds=60.0 * args.checkpoint_minutes, log="cli", verbose=1)
    if run.already_complete:
        print(f"{args.output} already holds this finished run ({run.steps} steps); "
              f"add --fresh to train it again.")
    elif run.resumed_at is not None:
        print(f"resumed at step {run.resumed_at} of a killed run")
    results = run.model.evaluate(dataset.validation, verbose=0, return_dict=True)
    print("final validation metrics: " + ", ".join(f"{k}={float(v):.4f}" for k, v in results.items()))
    print(f"saved {Path(args.output) / training.MODEL_FILE} after {run.steps} steps ({run.epochs:.2f} epochs); "
          f"TensorBoard logs in {run.log_dir}")
    return 0


def _train_text(args, family) -> int:
    from genai_tf import text_commands, training

    dataset = text_commands.training_text(args, family)
    epochs = args.epochs if args.epochs is not None or args.minutes is not None else 10
    seconds = None if args.minutes is None else 60.0 * args.minutes
    how = "counting" if family.counted else f"{epochs or ''} epochs {args.minutes or ''} min".strip()
    print(f"training {family.name} ({family.description}) on {text_commands.describe(dataset)}: {how}", flush=True)
    run = training.train(family, dataset, epochs=epochs, seconds=seconds, clock=args.clock, seed=args.seed,
                         output=args.output, fresh=args.fresh, checkpoint_seconds=60.0 * args.checkpoint_minutes,
                         log="cli", verbose=1)
    print(text_commands.validation_report(run.model, dataset))
    print(f"saved {Path(args.output) / training.MODEL_FILE} after {run.steps} steps ({run.epochs:.2f} epochs)")
    return 0


def sample(args) -> int:
    """Load ``DIR/model.keras``: write ``num`` generated images to a float32 ``.npy``, or print text."""
    _quiet_tensorflow()
    import numpy as np

    from genai_tf import checkpoints, text_commands

    model = checkpoints.load_model(args.model_dir)
    if text_commands.is_text_model(model):
        print(text_commands.sample_text(model, args))
        return 0
    text_commands.check_image_options(args)
    if args.output is None:
        raise UsageError("--output FILE.npy is required for images.")
    args.num = 64 if args.num is None else args.num
    if not hasattr(model, "generate"):
        raise UsageError(f"{type(model).__name__} is not a generative model (it has no generate()); "
                         f"sample from a vae, gan, dcgan, wgan_gp, cgan, cvae, vaegan or diffusion checkpoint instead.")
    extra = {}
    if args.labels is not None:
        if not hasattr(model, "num_classes"):
            raise UsageError(f"--labels needs a conditional model (cvae, cgan, diffusion); {type(model).__name__} is not one.")
        try:
            labels = [int(value) for value in args.labels.split(",")]
        except ValueError:
            raise UsageError(f"--labels {args.labels!r}: give whole numbers separated by commas, e.g. 3 or 0,1,2") from None
        if any(not 0 <= label < model.num_classes for label in labels):
            raise UsageError(f"--labels {args.labels}: classes run from 0 to {model.num_classes - 1}.")
        if len(labels) not in (1, args.num):
            raise UsageError(f"--labels has {len(labels)} classes; give one for all samples or one per "
                             f"sample (--num {args.num}).")
        extra["labels"] = labels * args.num if len(labels) == 1 else labels
    extra.update(_sampler_options(model, args))
    images = np.asarray(model.generate(args.num, seed=args.seed, **extra), dtype="float32")
    if not np.all(np.isfinite(images)):
        raise ValueError(f"The model generated {int(np.sum(~np.isfinite(images)))} NaN or infinite pixel values; "
                         f"its training diverged. Retrain it (a lower learning rate helps).")
    np.save(args.output, images)
    print(f"wrote {images.shape} float32 images in [{images.min():.3f}, {images.max():.3f}] to {args.output}")
    return 0


def _sampler_options(model, args) -> dict:
    """``generate``'s diffusion arguments from ``--steps``, ``--eta`` and ``--guidance``, checked."""
    given = {name: getattr(args, name) for name in ("steps", "eta", "guidance") if getattr(args, name) is not None}
    if not hasattr(model, "timesteps"):
        if given:
            raise UsageError(f"--{'/--'.join(given)} only apply to diffusion models; {type(model).__name__} "
                             f"samples in one pass.")
        return {}
    if args.steps is not None and args.steps > model.timesteps:
        raise UsageError(f"--steps {args.steps}: this model was trained on a {model.timesteps}-step chain; "
                         f"use 1 to {model.timesteps} (e.g. 25).")
    if args.eta is not None and not 0.0 <= args.eta <= 1.0:
        raise UsageError(f"--eta {args.eta}: use a value in [0, 1] (0 deterministic DDIM, 1 DDPM's variance).")
    if args.guidance is not None:
        if args.guidance < 0 or not math.isfinite(args.guidance):
            raise UsageError(f"--guidance {args.guidance}: the guidance weight must be 0 or more (e.g. 1).")
        if args.labels is None:
            raise UsageError("--guidance needs --labels: without labels the samples are unconditional.")
    return {**given, "progress": args.num * (args.steps or model.sample_steps) >= 25_000}


def score(args) -> int:
    """Print bits/char and nats/char of a text model on ``--text``."""
    _quiet_tensorflow()
    from genai_tf import checkpoints, text_commands

    print(text_commands.score(checkpoints.load_model(args.model_dir), args))
    return 0


def pretrain(args) -> int:
    """Train each family with its registered recipe and pretrain budget; write manifest.json beside it."""
    _quiet_tensorflow()
    from genai_tf import pretrain as pretraining
    from genai_tf.models import registry

    names = list(pretraining.pretrainable()) if args.families is None else [
        name.strip() for name in args.families.split(",") if name.strip()]
    unknown = [name for name in names if name not in registry.names()]
    if unknown or not names:
        raise UsageError(f"--families {args.families!r}: unknown {unknown}; choose from "
                         f"{', '.join(pretraining.pretrainable())}.")
    _check_dataset_name(args.dataset)
    for name in names:
        pretraining.pretrain_family(name, args.dataset, output=args.output, data_dir=args.data_dir, seed=args.seed,
                                    steps=args.steps, num_samples=args.num_samples)
    return 0


def student(args) -> int:
    """Write student copies of notebooks, with every ``solution`` cell replaced by a stub."""
    from genai_tf.student import make_student_version

    output = Path(args.output)
    for notebook in args.notebooks:
        if not Path(notebook).is_file():
            raise FileNotFoundError(f"No notebook at {notebook}.")
        target = output / Path(notebook).name
        count = make_student_version(notebook, target)
        print(f"{target}: {count} solution cells replaced by stubs")
    return 0


def site(args) -> int:
    """Render the notebooks and the course map as HTML pages in ``--output``, readable offline."""
    from genai_tf import site as course_site

    notebooks = Path(args.notebooks) if args.notebooks is not None else course_site.default_notebooks_dir()
    pages = course_site.build_site(notebooks, Path(args.output))
    print(f"{pages[0]}: the course map and {len(pages) - 1} notebook pages from {notebooks}; "
          "open it in a browser (nothing is loaded from the network)")
    return 0


def evaluate(args) -> int:
    """Score generated images (a ``.npy``) against the dataset's test split: cFID, KID, IS, P/R."""
    _quiet_tensorflow()
    import numpy as np

    _check_dataset_name(args.dataset)
    from genai_tf import data, feature_classifier, sample_quality, tables

    path = Path(args.samples)
    if not path.is_file():
        raise FileNotFoundError(f"No samples at {path}. Write some with `genai-tf sample DIR --output {path}`.")
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as error:
        raise ValueError(f"{path} is not a readable .npy array ({error}).") from error
    samples = feature_classifier.check_images(loaded)  # (N, H, W, C) in [0, 1]
    height, width = samples.shape[1:3]
    if height != width:
        raise ValueError(f"The samples are {height}x{width}; only square images are supported.")
    # seed 0: the split the classifier was trained with, so its test images stay unseen.
    real = data.load_dataset(args.dataset, image_size=height, seed=0)
    if tuple(samples.shape[1:]) != real.image_shape:
        raise ValueError(f"The samples have shape {samples.shape}, but {args.dataset} images at "
                         f"that size are {real.image_shape}: generate (N, "
                         f"{', '.join(map(str, real.image_shape))}) images, or pick the right --dataset.")
    classifier = feature_classifier.load_classifier(args.dataset, real.image_shape, cache_dir=args.cache_dir)
    results = sample_quality.evaluate_samples(samples, real.images("test"), classifier,
                                              num_real=args.num_real, seed=args.seed)
    print(tables.format_report(results))
    return 0


def _check_dataset_name(name: str) -> None:
    from genai_tf import data

    try:
        data.check_name(name)
    except ValueError as error:
        raise UsageError(str(error)) from None


# --- the parser --------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    import genai_tf
    from genai_tf.models import registry

    parser = argparse.ArgumentParser(prog="genai-tf", description=__doc__.splitlines()[0])
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
                         help="diffusion: DDIM steps, at most the training chain's (default: the model's, 25)")
    sampler.add_argument("--eta", type=float, default=None,
                         help="diffusion: DDIM's η in [0, 1]; 0 deterministic (default), 1 DDPM's variance")
    sampler.add_argument("--guidance", type=float, default=None,
                         help="diffusion with --labels: classifier-free guidance weight w ≥ 0 (default: the model's)")
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
                                   description="Copy notebooks, replacing every cell tagged 'solution' by a stub.")
    students.add_argument("notebooks", nargs="+", help="notebooks/NN_topic.ipynb ...")
    students.add_argument("--output", required=True, help="folder for the student copies")

    sites = commands.add_parser("site", help="build the course as HTML pages that work offline",
                                description="Render every notebook (as committed, not executed) and the "
                                            "course map as HTML, with MathJax and the reference figures "
                                            "copied in, so the pages load nothing from the network.")
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


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # usage errors exit with status 2
    handlers = {"doctor": doctor, "train": train, "pretrain": pretrain, "sample": sample, "score": score,
                "student": student,
                "evaluate": evaluate, "site": site}
    try:
        from genai_tf import config

        config.get_profile()  # a bad GENAI_TF_PROFILE is a usage error, said once
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from genai_tf import text_commands

    try:
        return handlers[args.command](args)
    except (UsageError, text_commands.TextUsageError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (ValueError, OSError, FloatingPointError, RuntimeError) as error:
        # RuntimeError covers data.DatasetUnavailableError; OSError missing and unwritable files.
        if config.debug():
            raise
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
