"""Benchmark of notebook 04's variational generative networks on real MNIST.

Trains, each with its registered recipe through ``genai_tf.training.train`` (what ``genai-tf
train FAMILY --minutes M`` runs) and for the same time budget:

- the **conditional VAE**: 1,000 samples per requested digit (10,000 in all) are read by the
  course's classifier (``genai_tf.feature_classifier``); reported are the share read as the
  requested digit, the weakest class, cFID / KID against the MNIST test set next to the
  real-vs-real floor, and the test conditional ELBO;
- the **plain VAE and the VAE-GAN**: 10,000 prior samples each, scored the same way (cFID,
  floor, KID, precision / recall), plus the test reconstruction MSE and the VAE-GAN / VAE cFID
  ratio.

Prints two markdown tables and writes them, with the machine, to ``benchmarks/results_vgn.md``::

    python -m benchmarks.vgn --data-dir ../shared/data          # 51 min on 2 shared cores (30 CPU-min of training)
    python -m benchmarks.vgn --quick --dataset digits           # checks the script (< 1 min)

``--clock cpu`` (default) counts each budget in process CPU seconds, minutes × 60 × usable
cores, which is the same work on a quiet or a shared machine; ``wall`` counts elapsed time.
See ``benchmarks/README.md`` for what each number means.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmarks import common  # noqa: E402

HERE = Path(__file__).resolve().parent
MODELS = ("cvae", "vae", "vaegan")
CLASS_ACCURACY_TARGET = 0.97  # issue 4: share of CVAE samples read as the requested digit
# --quick: a fixed number of steps (not a budget), the same work on any machine
QUICK = {"limit": 300, "steps": 6, "samples_per_class": 30, "num_samples": 300}
GENERATE_CHUNK = 1000  # samples decoded at once: bounds memory


def _train(family, args, latent_dim=None):
    """Train ``family`` with its recipe for the budget (``--quick``: fixed steps); (model, data, stats)."""
    from genai_tf import training
    from genai_tf.models import registry

    chosen = registry.family(family)
    dataset = training.family_dataset(chosen, args.dataset, seed=args.seed, data_dir=args.data_dir,
                                      limit=QUICK["limit"] if args.quick else None)
    length = (f"{QUICK['steps']} steps" if args.quick else
              f"{common.budget_seconds(args.minutes, args.clock):.0f} {args.clock} seconds ({args.minutes:g} min"
              f"{f' × {common.cores()} cores' if args.clock == 'cpu' else ''})")
    print(f"== {family}: batch {chosen.batch_size}, training for {length} ...", flush=True)
    run, stats = common.train_family(chosen, dataset, minutes=None if args.quick else args.minutes,
                                     clock=args.clock, steps=QUICK["steps"] if args.quick else None,
                                     seed=args.seed, latent_dim=latent_dim, models_dir=args.models_dir,
                                     verbose=args.verbose)
    print(f"   {stats['epochs']:.1f} epochs ({stats['steps']} steps) in {stats['train_minutes']:.1f} min wall, "
          f"{stats['train_cpu_minutes']:.1f} min CPU", flush=True)
    return run.model, dataset, {"model": family, **stats}


def _quality(results):
    return {key: results[key] for key in ("cfid", "cfid_floor", "floor_size", "kid_mean", "kid_std",
                                          "precision", "recall", "precision_real", "recall_real",
                                          "num_samples")}


def benchmark_cvae(args, classifier, test_images):
    import numpy as np

    from genai_tf import sample_quality

    model, dataset, stats = _train("cvae", args, latent_dim=args.cvae_latent_dim)
    start = time.perf_counter()
    per_class = QUICK["samples_per_class"] if args.quick else args.samples_per_class
    num_classes = model.num_classes
    requested = np.repeat(np.arange(num_classes), per_class)  # (10 · per_class,)
    # Bernoulli means E[x | z, y] with z ~ N(0, I), label by label: (10 · per_class, H, W, C)
    samples = sample_quality.draw_samples(model, len(requested), seed=args.seed + 10, chunk=GENERATE_CHUNK,
                                          labels=requested)
    predicted = classifier.predict(samples)
    per_class_accuracy = [float(np.mean(predicted[requested == label] == label)) for label in range(num_classes)]
    results = sample_quality.evaluate_samples(samples, test_images, classifier, seed=args.seed)
    # Test conditional ELBO (Eq. CVAE.1), one z per image, on the test split binarized once.
    elbo_sum, count = 0.0, 0
    for images, labels in dataset.test:
        elbo_sum += float(model.compute_losses(images, labels)["elbo"]) * len(images)
        count += len(images)
    return {**stats, **_quality(results),
            "class_accuracy": float(np.mean(predicted == requested)),
            "per_class_accuracy": per_class_accuracy,
            "test_elbo": elbo_sum / count,
            "eval_seconds": time.perf_counter() - start}


def benchmark_unconditional(family, args, classifier, test_images):
    from genai_tf import metrics, sample_quality

    model, _, stats = _train(family, args)
    start = time.perf_counter()
    num_samples = QUICK["num_samples"] if args.quick else args.num_samples
    # Images in [0, 1] from generate(): the VAE's Bernoulli means sigmoid(logits) (its recipe trains
    # on binarized pixels, so the mean estimates the grey level), the VAE-GAN's sigmoid output.
    samples = sample_quality.draw_samples(model, num_samples, seed=args.seed + 1000, chunk=GENERATE_CHUNK)
    results = sample_quality.evaluate_samples(samples, test_images, classifier, seed=args.seed)
    # Reconstructions Dec(μ(x)) of the grey-level test images, in pixels, for both models.
    mse = metrics.reconstruction_mse(model, test_images, batch_size=500)
    return {**stats, **_quality(results), "test_mse": mse, "eval_seconds": time.perf_counter() - start}


# --- output --------------------------------------------------------------------------------
_verdict = common.verdict


def cvae_table(row, quick) -> str:
    weakest = min(range(len(row["per_class_accuracy"])), key=lambda label: row["per_class_accuracy"][label])
    accuracy = row["class_accuracy"]
    cells = {
        "model": "cvae", "latent": row["latent_dim"], "batch": row["batch"], **common.timing_cells(row),
        "read as requested": f"**{accuracy:.2%}**",
        "weakest class": f"{weakest}: {row['per_class_accuracy'][weakest]:.1%}", **common.sample_cells(row),
        "test conditional ELBO": f"{row['test_elbo']:.2f} nats",
        "target": _verdict(accuracy >= CLASS_ACCURACY_TARGET, f"≥ {CLASS_ACCURACY_TARGET:.0%} read as requested",
                           quick),
    }
    return "\n".join([
        common.table([cells]),
        "",
        f"Share read as requested, per class 0–{len(row['per_class_accuracy']) - 1} "
        f"({row['num_samples'] // len(row['per_class_accuracy']):,} samples each): "
        + ", ".join(f"{value:.1%}" for value in row["per_class_accuracy"]),
    ])


def pair_table(rows, quick) -> str:
    vae_cfid = next((row["cfid"] for row in rows if row["model"] == "vae"), None)
    cells = []
    for row in rows:
        ratio = row["cfid"] / vae_cfid if vae_cfid else float("nan")
        verdict = ("reference" if row["model"] == "vae" or vae_cfid is None
                   else _verdict(ratio < 1.0, "cFID below the VAE's", quick))
        cells.append({"model": row["model"], "latent": row["latent_dim"], "batch": row["batch"],
                      **common.timing_cells(row), **common.sample_cells(row),
                      "test recon. MSE": f"{row['test_mse']:.4f}",
                      "cFID / VAE's": "–" if vae_cfid is None else f"{ratio:.3f}", "target": verdict})
    return common.table(cells)


NOTES = """\
How to read it:

- Each model trains with its registered recipe (`genai_tf.models.registry`) for the same budget; the
  budget counts {clock} seconds. s/epoch is the median over complete epochs (the first one
  includes graph tracing); epochs counts a partial last epoch as a fraction.
- Samples are what `generate()` returns, images in [0, 1]: for the CVAE and the VAE, whose
  recipes train a Bernoulli decoder on stochastically binarized pixels, the Bernoulli means
  σ(logits) (the mean of Bernoulli(grey level) is the grey level, so the means estimate
  grey-level digits, the images the classifier was trained on); for the VAE-GAN, its decoder's
  sigmoid output. No model's samples are binarized.
- cFID, KID and precision / recall are computed in the course classifier's 128 features by
  `sample_quality.evaluate_samples` against the {num_real:,} grey-level test images: a random
  half is held out as the real-vs-real floor (what a perfect generator scores with that many
  samples), the other half is the reference; the model's cFID and precision / recall use
  as many random samples as the floor has real images, so both are measured at the same n. KID
  is the unbiased polynomial-kernel MMD², on every sample.
- The CVAE's test conditional ELBO is Eq. (CVAE.1) with one z per image, on the test split
  binarized once with a fixed seed (higher is better). The reconstruction MSE is the pixel
  error of Dec(μ(x)) on the grey-level test images, for both models.
"""


def report(args, cvae_row, pair_rows, classifier, num_real, machine, minutes) -> str:
    cpu_note = f" = {common.budget_seconds(args.minutes, 'cpu'):.0f} CPU-seconds ({common.cores()} cores)"
    command = "python -m benchmarks.vgn " + " ".join(sys.argv[1:] if args.argv is None else args.argv)
    parts = [f"# Variational generative networks benchmark{' (quick check, not a result)' if args.quick else ''}",
             "",
             f"Produced by `{command.strip()}`; the whole run took {minutes:.1f} minutes. Data: "
             f"`{args.dataset}` (train split for training, {num_real:,} test images as the real set). "
             f"Budget per model: {args.minutes:g} min on the {args.clock} clock"
             f"{cpu_note if args.clock == 'cpu' else ''}. "
             f"Classifier test accuracy: {classifier.test_accuracy:.1%}."]
    note = common.contention_note(machine)
    if note:
        parts += ["", note]
    if cvae_row is not None:
        parts += ["", "## Conditional VAE: digits on request", "", cvae_table(cvae_row, args.quick)]
    if pair_rows:
        parts += ["", "## VAE-GAN against the plain VAE at equal training time", "",
                  pair_table(pair_rows, args.quick)]
    parts += ["", NOTES.format(clock="CPU" if args.clock == "cpu" else "wall-clock", num_real=num_real),
              "Machine:", ""]
    parts += [f"- {key}: {value}" for key, value in machine]
    parts += [f"- load average (1/5/15 min) at end: {common.load_average()}", ""]
    return "\n".join(parts)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated subset of: " + ", ".join(MODELS))
    parser.add_argument("--dataset", default="mnist", help="mnist (default) or digits (checks the script only)")
    parser.add_argument("--data-dir", default=None, help="folder with <dataset>.npz (else $GENAI_TF_DATA_DIR / tfds)")
    parser.add_argument("--minutes", type=float, default=5.0, help="training budget of EACH model (default 5)")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="cpu (default): budget = minutes × 60 × usable cores of process CPU time; wall: elapsed")
    parser.add_argument("--cvae-latent-dim", type=int, default=None, help="CVAE style-code size (default: its recipe's)")
    parser.add_argument("--samples-per-class", type=int, default=1000, help="CVAE samples per requested digit")
    parser.add_argument("--num-samples", type=int, default=10_000, help="VAE / VAE-GAN samples each")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help=f"tiny run to check the script works: {QUICK}")
    parser.add_argument("--output", default=str(HERE / "results_vgn.md"))
    parser.add_argument("--verbose", action="store_true", help="one line per epoch")
    parser.add_argument("--models-dir", default=None,
                        help="train each model into DIR/<family> (model.keras, resume/): a killed run resumes "
                             "there, a finished one is loaded and re-scored")
    args = parser.parse_args(argv)
    args.argv = argv
    args.models = [name.strip() for name in args.models.split(",") if name.strip()]
    unknown = sorted(set(args.models) - set(MODELS))
    if unknown or not args.models:
        parser.error(f"--models: unknown {unknown}; choose from {', '.join(MODELS)}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from genai_tf import feature_classifier
    from genai_tf.data import images as image_data

    machine = common.machine_description()
    started = time.perf_counter()
    test = image_data.load(args.dataset, data_dir=args.data_dir, seed=0)
    test_images = test.images("test")  # grey levels in [0, 1]: the real set for every model
    classifier = feature_classifier.load_classifier(args.dataset, test.image_shape, data_dir=args.data_dir, verbose=0)
    cvae_row = benchmark_cvae(args, classifier, test_images) if "cvae" in args.models else None
    pair_rows = [benchmark_unconditional(family, args, classifier, test_images)
                 for family in ("vae", "vaegan") if family in args.models]
    text = report(args, cvae_row, pair_rows, classifier, len(test_images), machine,
                  (time.perf_counter() - started) / 60)
    print(text)
    Path(args.output).write_text(text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
