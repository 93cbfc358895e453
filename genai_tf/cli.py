"""The ``genai-tf`` command: ``doctor``, ``train``, ``sample``, ``evaluate`` and ``student``.

For instructors pre-training checkpoints before a class, for a room's set-up check, and for
the benchmarks::

    genai-tf doctor
    genai-tf train vae --dataset mnist --epochs 30 --output checkpoints/vae
    genai-tf sample checkpoints/vae --num 64 --output samples.npy
    genai-tf evaluate samples.npy --dataset mnist
    genai-tf sample checkpoints/cvae --num 10 --labels 0,1,2,3,4,5,6,7,8,9 --output digits.npy
    genai-tf student notebooks/*.ipynb --output student/
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _quiet_tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


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
    """Train one family on one dataset, save ``DIR/model.keras`` and TensorBoard logs."""
    _quiet_tensorflow()
    from genai_tf import callbacks, data
    from genai_tf.models import recipe

    family = recipe(args.family)
    dataset = data.load_dataset(args.dataset, batch_size=args.batch_size, limit=args.limit,
                                seed=args.seed, binarize=family.binarize)
    latent_dim = args.latent_dim or family.latent_dim
    model = family.build(dataset.image_shape, latent_dim, args.seed)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    fit_callbacks, log_dir = callbacks.training_callbacks(
        "cli", args.family, root=output / "logs",
        sample_images=dataset.images("validation")[:16] if family.reconstructs else None)
    print(f"training {args.family} ({family.description}) on {args.dataset} "
          f"{dataset.image_shape}, latent_dim={latent_dim}, {args.epochs} epochs")
    model.fit(dataset.train, validation_data=dataset.validation, epochs=args.epochs,
              callbacks=fit_callbacks + family.schedule_callbacks(), verbose=1)
    results = model.evaluate(dataset.validation, verbose=0, return_dict=True)
    model.save(output / "model.keras")
    print("final validation metrics: " + ", ".join(f"{k}={float(v):.4f}" for k, v in results.items()))
    print(f"saved {output / 'model.keras'}; TensorBoard logs in {log_dir}")
    return 0


def sample(args) -> int:
    """Load ``DIR/model.keras`` and write ``num`` generated images to a float32 ``.npy``."""
    _quiet_tensorflow()
    import keras
    import numpy as np

    import genai_tf.models.autoencoder  # noqa: F401  (registers the classes for loading)
    import genai_tf.models.cvae  # noqa: F401
    import genai_tf.models.gan  # noqa: F401
    import genai_tf.models.vae  # noqa: F401
    import genai_tf.models.vaegan  # noqa: F401

    path = Path(args.model_dir)
    path = path / "model.keras" if path.is_dir() else path
    if not path.exists():
        print(f"error: no model at {path}. Train one first: genai-tf train vae --output {args.model_dir}",
              file=sys.stderr)
        return 2
    model = keras.models.load_model(path)
    if not hasattr(model, "generate"):
        print(f"error: {type(model).__name__} is not a generative model (it has no generate()); "
              f"sample from a vae, gan, dcgan, cvae or vaegan checkpoint instead.", file=sys.stderr)
        return 2
    extra = {}
    if args.labels is not None:
        if not hasattr(model, "num_classes"):
            print(f"error: --labels needs a conditional model (cvae); {type(model).__name__} is not one.",
                  file=sys.stderr)
            return 2
        labels = [int(value) for value in args.labels.split(",")]
        extra["labels"] = labels * args.num if len(labels) == 1 else labels
    images = np.asarray(model.generate(args.num, seed=args.seed, **extra), dtype="float32")
    np.save(args.output, images)
    print(f"wrote {images.shape} float32 images in [{images.min():.3f}, {images.max():.3f}] to {args.output}")
    return 0


def student(args) -> int:
    """Write student copies of notebooks, with every ``solution`` cell replaced by a stub."""
    from genai_tf.student import make_student_version

    output = Path(args.output)
    for notebook in args.notebooks:
        target = output / Path(notebook).name
        count = make_student_version(notebook, target)
        print(f"{target}: {count} solution cells replaced by stubs")
    return 0


def evaluate(args) -> int:
    """Score generated images (a ``.npy``) against the dataset's test split: cFID, KID, IS, P/R."""
    _quiet_tensorflow()
    import numpy as np

    from genai_tf import data, sample_quality

    samples = sample_quality.check_images(np.load(args.samples))  # (N, H, W, C) in [0, 1]
    height, width = samples.shape[1:3]
    if height != width:
        raise ValueError(f"The samples are {height}x{width}; only square images are supported.")
    # seed 0: the split the classifier was trained with, so its test images stay unseen.
    real = data.load_dataset(args.dataset, image_size=height, seed=0)
    if tuple(samples.shape[1:]) != real.image_shape:
        raise ValueError(f"The samples have shape {samples.shape}, but {args.dataset} images at "
                         f"that size are {real.image_shape}: generate (N, "
                         f"{', '.join(map(str, real.image_shape))}) images, or pick the right --dataset.")
    classifier = sample_quality.load_classifier(args.dataset, real.image_shape, cache_dir=args.cache_dir)
    results = sample_quality.evaluate_samples(samples, real.images("test"), classifier,
                                              num_real=args.num_real, seed=args.seed)
    print(sample_quality.format_report(results))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from genai_tf.models import RECIPES

    parser = argparse.ArgumentParser(prog="genai-tf", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("doctor", help="check this machine is ready for the course")

    trainer = commands.add_parser("train", help="train a model and save DIR/model.keras")
    trainer.add_argument("family", choices=sorted(RECIPES))
    trainer.add_argument("--dataset", default="mnist", help="digits, mnist, fashion_mnist or cifar10")
    trainer.add_argument("--epochs", type=int, default=10)
    trainer.add_argument("--output", required=True, help="folder for model.keras and logs/")
    trainer.add_argument("--seed", type=int, default=0)
    trainer.add_argument("--latent-dim", type=int, default=None)
    trainer.add_argument("--batch-size", type=int, default=128)
    trainer.add_argument("--limit", type=int, default=None, help="cap the training examples")

    sampler = commands.add_parser("sample", help="write generated images to a .npy file")
    sampler.add_argument("model_dir", help="a folder with model.keras (or the .keras file)")
    sampler.add_argument("--num", type=int, default=64)
    sampler.add_argument("--output", required=True, help="FILE.npy, float32 (N, H, W, C) in [0, 1]")
    sampler.add_argument("--seed", type=int, default=0)
    sampler.add_argument("--labels", default=None,
                         help="conditional models: one class for all samples (e.g. 3) or one per sample (0,1,2,...)")

    students = commands.add_parser("student", help="write notebooks with the solutions removed")
    students.add_argument("notebooks", nargs="+", help="notebooks/NN_topic.ipynb ...")
    students.add_argument("--output", required=True, help="folder for the student copies")
    evaluator = commands.add_parser("evaluate", help="score generated images: cFID, KID, IS, precision/recall")
    evaluator.add_argument("samples", help="SAMPLES.npy, float32 (N, H, W, C) in [0, 1]")
    evaluator.add_argument("--dataset", required=True, help="digits, mnist, fashion_mnist or cifar10")
    evaluator.add_argument("--num-real", type=int, default=None, help="cap the real test images")
    evaluator.add_argument("--seed", type=int, default=0)
    evaluator.add_argument("--cache-dir", default=None,
                           help="classifier cache (default $GENAI_TF_CACHE_DIR or ~/.cache/genai_tf)")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {"doctor": doctor, "train": train, "sample": sample, "student": student,
                "evaluate": evaluate}
    try:
        return handlers[args.command](args)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # a clear line, not a traceback, for the known failure types
        from genai_tf.data import DatasetUnavailableError

        if isinstance(error, DatasetUnavailableError):
            print(f"error: {error}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
