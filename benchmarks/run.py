"""Time and quality benchmark of the course's autoencoder and VAE on real MNIST.

Trains each model with its registered recipe through ``genai_tf.training.train`` (what
``genai-tf train`` runs), evaluates it with ``genai_tf.metrics``, prints a markdown table
and writes it, with a description of the machine, to ``benchmarks/results.md``::

    python -m benchmarks.run --data-dir ../shared/data   # both models, real MNIST (20-50 min)
    python -m benchmarks.run --quick --dataset digits    # checks the script in about a minute

See ``benchmarks/README.md`` for what each number means.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmarks import common  # noqa: E402

HERE = Path(__file__).resolve().parent
MODELS = ("autoencoder", "vae")
AE_RATIO_TARGET = 0.6  # conv autoencoder test MSE / PCA test MSE at the same latent size
VAE_NLL_TARGET = 90.0  # nats, test IWAE NLL on stochastically binarized MNIST
VAE_NLL_STRETCH = 86.76  # nats, Burda et al. (2016), 1-layer VAE, k = 5000
# --quick: fixed lengths (not time budgets), the same work on any machine
QUICK = {"limit": 2000, "ae_epochs": 1, "vae_steps": 30, "iwae_k": 10, "eval_limit": 500}


# --- training helpers ----------------------------------------------------------------------
machine_description = common.machine_description


def _load(args, binarize, quick):
    from genai_tf.data import images as image_data

    return image_data.load(args.dataset, data_dir=args.data_dir, batch_size=args.batch_size,
                             limit=QUICK["limit"] if quick else None, seed=args.seed,
                             binarize=binarize)


def _architecture(model) -> str:
    """A short description of a conv model's layers: filters, dense units, latent size."""
    convs = [layer.filters for layer in model.encoder.layers if hasattr(layer, "filters")]
    dense = [layer.units for layer in model.encoder.layers
             if hasattr(layer, "units") and not layer.name.startswith("head_")]
    return (f"conv filters {tuple(convs)}, dense {dense[0] if dense else 0}, "
            f"latent {model.latent_dim}, {model.count_params():,} parameters")


def _optimizer(model) -> str:
    optimizer = model.optimizer
    return f"{type(optimizer).__name__} lr {float(optimizer.learning_rate):g}"


# --- the benchmarks ------------------------------------------------------------------------
def benchmark_autoencoder(args, quick):
    from genai_tf import metrics
    from genai_tf.models import registry

    family = registry.family("autoencoder")
    dataset = _load(args, family.binarize, quick)
    epochs = QUICK["ae_epochs"] if quick else args.ae_epochs
    print(f"[autoencoder] {epochs} epochs on {len(dataset.images('train')):,} grey-level images", flush=True)
    run, stats = common.train_family(family, dataset, epochs=epochs, seed=args.seed,
                                     models_dir=args.models_dir, verbose=args.verbose)
    model = run.model
    config = f"{_architecture(model)}, {_optimizer(model)}, batch {args.batch_size}"
    test = dataset.images("test")[: args.eval_limit]
    model_mse = metrics.reconstruction_mse(model, test)
    pca_mse = metrics.pca_reconstruction_mse(dataset.images("train"), test, family.latent_dim)
    ratio = model_mse / pca_mse
    print(f"[autoencoder] test MSE {model_mse:.5f}, PCA {pca_mse:.5f}, ratio {ratio:.3f}", flush=True)
    return {
        "config": config,
        "rows": [
            ("seconds per epoch (median)", f"{stats['s_per_epoch']:.1f} s (of {stats['complete_epochs']} epochs)", ""),
            ("CPU-seconds per epoch (median)", f"{stats['cpu_s_per_epoch']:.1f} s", ""),
            ("epochs / training minutes", f"{epochs} / {stats['train_minutes']:.1f} min", ""),
            (f"test MSE, conv autoencoder (latent {family.latent_dim})", f"{model_mse:.5f}", ""),
            (f"test MSE, PCA ({family.latent_dim} components)", f"{pca_mse:.5f}", ""),
            ("ratio autoencoder / PCA", f"{ratio:.3f}",
             _verdict(ratio <= AE_RATIO_TARGET, f"≤ {AE_RATIO_TARGET}", quick)),
        ],
    }


def benchmark_vae(args, quick):
    import numpy as np

    from genai_tf import metrics
    from genai_tf.models import registry

    family = registry.family("vae")
    dataset = _load(args, family.binarize, quick)
    minutes = None if quick else args.vae_minutes
    length = f"{QUICK['vae_steps']} steps" if quick else f"{minutes:g} minutes"
    print(f"[vae] {length} on {len(dataset.images('train')):,} dynamically binarized images", flush=True)
    # The recipe's own schedule (a cosine decay to 2 % over the budget), as `genai-tf train vae
    # --minutes M` runs it. The budget stops fit after the batch that crosses it (wall clock,
    # graph tracing included); a partial last epoch counts as a fraction.
    run, stats = common.train_family(family, dataset, minutes=minutes, clock="wall",
                                     steps=QUICK["vae_steps"] if quick else None, seed=args.seed,
                                     models_dir=args.models_dir, verbose=args.verbose)
    model = run.model
    config = (f"{_architecture(model)}, {_optimizer(model)} with the recipe's cosine decay to 2 % over the "
              f"run, batch {args.batch_size}")
    epochs_done = stats["epochs"]
    print(f"[vae] trained {epochs_done:.2f} epochs in {stats['train_minutes']:.2f} min", flush=True)

    # The test split is binarized once, with a fixed seed: the same 0/1 images for every model.
    test = np.concatenate([images.numpy() for images, _ in dataset.test])[: args.eval_limit]
    elbo = metrics.evaluate_elbo(model, test)
    k = QUICK["iwae_k"] if quick else args.iwae_k
    start, cpu_start = time.perf_counter(), time.process_time()
    nll = metrics.iwae_nll(model, test, num_samples=k, chunk_size=min(args.iwae_chunk, k), seed=0)
    eval_seconds, eval_cpu = time.perf_counter() - start, time.process_time() - cpu_start
    bits = metrics.bits_per_dim(nll, math.prod(dataset.image_shape))
    print(f"[vae] test ELBO {elbo:.2f}, IWAE NLL (k={k}) {nll:.2f} nats, {bits:.4f} bits/dim "
          f"(evaluation {eval_seconds:.0f} s)", flush=True)
    met = nll <= VAE_NLL_TARGET
    stretch = "yes" if nll <= VAE_NLL_STRETCH else "no"
    cores = stats["train_cpu_minutes"] / stats["train_minutes"]
    return {
        "config": config,
        "rows": [
            ("seconds per epoch (median)", f"{stats['s_per_epoch']:.1f} s (of {stats['complete_epochs']} "
             "complete epochs)", ""),
            ("CPU-seconds per epoch (median)", f"{stats['cpu_s_per_epoch']:.1f} s", ""),
            ("CPU cores used on average while training", f"{cores:.2f}", ""),
            ("training minutes (wall clock)", f"{stats['train_minutes']:.2f} min",
             f"budget {length}"),
            ("epochs done", f"{epochs_done:.2f}", ""),
            ("epochs on 2 free cores (rough estimate: epochs × 2 / cores used)",
             f"{epochs_done * 2.0 / cores:.0f}", ""),
            ("test ELBO (1 sample)", f"{elbo:.2f} nats", ""),
            (f"test NLL, IWAE k = {k}", f"{nll:.2f} nats",
             _verdict(met, f"≤ {VAE_NLL_TARGET:g} nats (stretch {VAE_NLL_STRETCH}: {stretch})",
                      quick)),
            ("test bits/dim", f"{bits:.4f}", ""),
            (f"IWAE evaluation time ({len(test):,} images, k = {k})",
             f"{eval_seconds:.0f} s ({eval_cpu:.0f} CPU-seconds)", "not part of the training budget"),
        ],
    }


def _verdict(ok, target, quick):
    if quick:
        return f"{target}: not checked (quick run)"
    return f"{target}: {'**met**' if ok else '**missed**'}"


# --- output --------------------------------------------------------------------------------
def markdown_table(results) -> str:
    from genai_tf import tables

    rows = [{"model": model, "metric": metric, "value": value, "target / met?": target}
            for model, result in results.items() for metric, value, target in result["rows"]]
    return tables.markdown_table(rows, ["model", "metric", "value", "target / met?"], missing="")


def report(args, results, machine, total_minutes, quick) -> str:
    command = "python -m benchmarks.run " + " ".join(sys.argv[1:])
    binarization = ("VAE data: stochastically binarized — train re-drawn every epoch, "
                    "validation and test drawn once with a fixed seed (`binarize=\"dynamic\"`).")
    parts = [
        "# Benchmark results",
        "",
        f"Produced by `{command.strip()}` on {machine[0][1]}; the whole run took "
        f"{total_minutes:.1f} minutes.",
    ]
    if quick:
        parts += ["", "**Quick run** (`--quick`): tiny data and budgets, to check the script "
                  "works. These numbers say nothing about the models."]
    note = common.contention_note(machine)
    if note:
        parts += ["", note]
    parts += ["", f"Dataset: `{args.dataset}`. {binarization}", "", "## Results", "",
              markdown_table(results), "", "Configurations (the defaults of "
              "`genai_tf.models.registry`):", ""]
    parts += [f"- **{model}**: {result['config']}" for model, result in results.items()]
    parts += ["", "## Machine", "", "| | |", "|---|---|"]
    parts += [f"| {key} | {value} |" for key, value in machine]
    parts += [f"| load average (1/5/15 min) at end | {common.load_average()} |", ""]
    return "\n".join(parts)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="autoencoder,vae",
                        help="comma-separated subset of: " + ", ".join(MODELS))
    parser.add_argument("--dataset", default="mnist", help="mnist (default) or digits")
    parser.add_argument("--data-dir", default=None,
                        help="folder with mnist.npz (default: $GENAI_TF_DATA_DIR, else tfds)")
    parser.add_argument("--vae-minutes", type=float, default=10.0,
                        help="wall-clock training budget of the VAE (default 10)")
    parser.add_argument("--ae-epochs", type=int, default=10, help="autoencoder epochs (default 10)")
    parser.add_argument("--iwae-k", type=int, default=200, help="importance samples (default 200)")
    parser.add_argument("--iwae-chunk", type=int, default=50,
                        help="importance samples drawn at once: bounds memory (default 50)")
    parser.add_argument("--eval-limit", type=int, default=None,
                        help="evaluate on the first N test images only (default: all)")
    parser.add_argument("--batch-size", type=int, default=128,
                        help="training batch size (default 128, as `genai-tf train`)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help=f"tiny run to check the script works: {QUICK}")
    parser.add_argument("--output", default=str(HERE / "results.md"),
                        help="markdown file to write (default benchmarks/results.md)")
    parser.add_argument("--verbose", action="store_true", help="print one line per epoch")
    parser.add_argument("--models-dir", default=None,
                        help="train each model into DIR/<family> (model.keras, resume/): a killed run resumes "
                             "there, a finished one is loaded and re-scored")
    args = parser.parse_args(argv)
    args.models = [name.strip() for name in args.models.split(",") if name.strip()]
    unknown = sorted(set(args.models) - set(MODELS))
    if unknown or not args.models:
        parser.error(f"--models: unknown {unknown}; choose from {', '.join(MODELS)}")
    if args.quick and args.eval_limit is None:
        args.eval_limit = QUICK["eval_limit"]
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    machine = machine_description()
    results = {}
    runners = {"autoencoder": benchmark_autoencoder, "vae": benchmark_vae}
    for name in args.models:
        results[name] = runners[name](args, args.quick)
    total_minutes = (time.perf_counter() - start) / 60.0
    text = report(args, results, machine, total_minutes, args.quick)
    print()
    print(markdown_table(results))
    Path(args.output).write_text(text)
    print(f"\nwrote {args.output} ({total_minutes:.1f} minutes in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
