"""Time and quality benchmark of the course's autoencoder and VAE on real MNIST.

Trains each model with its default recipe from ``genai_tf.models.RECIPES`` (the same one
``genai-tf train`` uses), evaluates it with ``genai_tf.metrics``, prints a markdown table
and writes it, with a description of the machine, to ``benchmarks/results.md``::

    python benchmarks/run.py --data-dir ../shared/data   # both models, real MNIST (20-50 min)
    python benchmarks/run.py --quick --dataset digits    # checks the script in about a minute

See ``benchmarks/README.md`` for what each number means.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout without installing the package

MODELS = ("autoencoder", "vae")
AE_RATIO_TARGET = 0.6  # conv autoencoder test MSE / PCA test MSE at the same latent size
VAE_NLL_TARGET = 90.0  # nats, test IWAE NLL on stochastically binarized MNIST
VAE_NLL_STRETCH = 86.76  # nats, Burda et al. (2016), 1-layer VAE, k = 5000
QUICK = {"limit": 2000, "ae_epochs": 1, "vae_minutes": 0.25, "iwae_k": 10, "eval_limit": 500}


# --- the machine ---------------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> str:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _load_average() -> str:
    try:
        return " / ".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def machine_description() -> list[tuple[str, str]]:
    import keras
    import numpy as np
    import tensorflow as tf

    import genai_tf

    devices = [device.device_type for device in tf.config.list_physical_devices()]
    return [
        ("date", datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")),
        ("CPU", _cpu_model()),
        ("CPU cores (os.cpu_count)", str(os.cpu_count())),
        ("CPU cores usable by this process", str(len(os.sched_getaffinity(0)))
         if hasattr(os, "sched_getaffinity") else "unknown"),
        ("RAM", _memory_gib()),
        ("devices", ", ".join(devices)),
        ("python", platform.python_version()),
        ("tensorflow", tf.__version__),
        ("keras", keras.__version__),
        ("numpy", np.__version__),
        ("genai_tf", genai_tf.__version__),
        ("load average (1/5/15 min) at start", _load_average()),
    ]


# --- training helpers ----------------------------------------------------------------------
def _epoch_timer_class():
    """The epoch timer, defined after keras is imported (importing it is slow)."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        """Wall-clock and CPU seconds of every complete epoch."""

        def __init__(self):
            super().__init__()
            self.wall, self.cpu = [], []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = (time.perf_counter(), time.process_time())

        def on_epoch_end(self, epoch, logs=None):
            self.wall.append(time.perf_counter() - self._start[0])
            self.cpu.append(time.process_time() - self._start[1])

    return EpochTimer


def _median(values):
    return statistics.median(values) if values else float("nan")


def _load(args, binarize, quick):
    from genai_tf import data

    return data.load_dataset(args.dataset, data_dir=args.data_dir, batch_size=args.batch_size,
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
    from genai_tf.models import recipe

    EpochTimer = _epoch_timer_class()
    family = recipe("autoencoder")
    dataset = _load(args, family.binarize, quick)
    model = family.build(dataset.image_shape, family.latent_dim, args.seed)
    config = f"{_architecture(model)}, {_optimizer(model)}, batch {args.batch_size}"
    epochs = QUICK["ae_epochs"] if quick else args.ae_epochs
    print(f"[autoencoder] {config}; {epochs} epochs on {len(dataset.images('train')):,} "
          "grey-level images", flush=True)
    timer = EpochTimer()
    start = time.perf_counter()
    model.fit(dataset.train, epochs=epochs, callbacks=[timer], verbose=2 if args.verbose else 0)
    minutes = (time.perf_counter() - start) / 60.0
    test = dataset.images("test")[: args.eval_limit]
    model_mse = metrics.reconstruction_mse(model, test)
    pca_mse = metrics.pca_reconstruction_mse(dataset.images("train"), test, family.latent_dim)
    ratio = model_mse / pca_mse
    print(f"[autoencoder] test MSE {model_mse:.5f}, PCA {pca_mse:.5f}, ratio {ratio:.3f}", flush=True)
    n = len(timer.wall)
    return {
        "config": config,
        "rows": [
            ("seconds per epoch (median)", f"{_median(timer.wall):.1f} s (of {n} epochs)", ""),
            ("CPU-seconds per epoch (median)", f"{_median(timer.cpu):.1f} s", ""),
            ("epochs / training minutes", f"{epochs} / {minutes:.1f} min", ""),
            (f"test MSE, conv autoencoder (latent {family.latent_dim})", f"{model_mse:.5f}", ""),
            (f"test MSE, PCA ({family.latent_dim} components)", f"{pca_mse:.5f}", ""),
            ("ratio autoencoder / PCA", f"{ratio:.3f}",
             _verdict(ratio <= AE_RATIO_TARGET, f"≤ {AE_RATIO_TARGET}", quick)),
        ],
    }


def benchmark_vae(args, quick):
    import numpy as np

    from genai_tf import metrics
    from genai_tf.callbacks import LearningRateDecay, TimeBudget
    from genai_tf.models import recipe

    EpochTimer = _epoch_timer_class()
    family = recipe("vae")
    dataset = _load(args, family.binarize, quick)
    model = family.build(dataset.image_shape, family.latent_dim, args.seed)
    config = (f"{_architecture(model)}, {_optimizer(model)} with cosine decay over the time "
              f"budget, batch {args.batch_size}")
    minutes = QUICK["vae_minutes"] if quick else args.vae_minutes
    steps = math.ceil(len(dataset.images("train")) / args.batch_size)
    print(f"[vae] {config}; {minutes:g} minutes on {len(dataset.images('train')):,} "
          f"dynamically binarized images", flush=True)
    # TimeBudget stops fit() after the batch that crosses the budget (wall clock, graph
    # tracing included); a partial last epoch counts as a fraction.
    budget, timer = TimeBudget(60.0 * minutes, clock="wall"), EpochTimer()
    cosine = LearningRateDecay("cosine", final_fraction=0.02, budget=budget)  # to 2 % over the budget
    fit_callbacks = [budget, timer] + ([] if args.no_decay else [cosine])
    model.fit(dataset.train, epochs=10**6, callbacks=fit_callbacks, verbose=2 if args.verbose else 0)
    epochs_done = budget.steps / steps
    complete = budget.steps // steps  # the stopped epoch also reaches on_epoch_end: drop it
    timer.wall, timer.cpu = timer.wall[:complete], timer.cpu[:complete]
    print(f"[vae] trained {epochs_done:.2f} epochs in {budget.wall_seconds / 60:.2f} min",
          flush=True)

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
    cores = budget.cpu_seconds / budget.wall_seconds
    return {
        "config": config,
        "rows": [
            ("seconds per epoch (median)", f"{_median(timer.wall):.1f} s (of {len(timer.wall)} "
             "complete epochs)", ""),
            ("CPU-seconds per epoch (median)", f"{_median(timer.cpu):.1f} s", ""),
            ("CPU cores used on average while training", f"{cores:.2f}", ""),
            ("training minutes (wall clock)", f"{budget.wall_seconds / 60:.2f} min",
             f"budget {minutes:g} min"),
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
    lines = ["| model | metric | value | target / met? |", "|---|---|---|---|"]
    for model, result in results.items():
        for metric, value, target in result["rows"]:
            lines.append(f"| {model} | {metric} | {value} | {target} |")
    return "\n".join(lines)


def _contention_note(machine) -> str:
    """A warning when the machine was busy: wall-clock numbers are then pessimistic."""
    try:
        end_load, cores = os.getloadavg()[0], os.cpu_count() or 1
    except OSError:
        return ""
    start = dict(machine).get("load average (1/5/15 min) at start", "unknown")
    start_load = end_load if start == "unknown" else float(start.split("/")[0])
    if max(start_load, end_load) <= 1.25 * cores:
        return ""
    return (f"**Shared machine**: the 1-minute load average was {start_load:.1f} at the start and "
            f"{end_load:.1f} at the end, on {cores} cores, so other processes competed for the CPU. "
            "Wall-clock times (seconds per epoch, epochs done in the VAE's budget, evaluation "
            "time) are pessimistic; the CPU-seconds and 'cores used' rows show by how much.")


def report(args, results, machine, total_minutes, quick) -> str:
    command = "python benchmarks/run.py " + " ".join(sys.argv[1:])
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
    note = _contention_note(machine)
    if note:
        parts += ["", note]
    parts += ["", f"Dataset: `{args.dataset}`. {binarization}", "", "## Results", "",
              markdown_table(results), "", "Configurations (the defaults of "
              "`genai_tf.models.RECIPES`):", ""]
    parts += [f"- **{model}**: {result['config']}" for model, result in results.items()]
    parts += ["", "## Machine", "", "| | |", "|---|---|"]
    parts += [f"| {key} | {value} |" for key, value in machine]
    parts += [f"| load average (1/5/15 min) at end | {_load_average()} |", ""]
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
    parser.add_argument("--no-decay", action="store_true",
                        help="keep the VAE learning rate constant instead of a cosine decay")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help=f"tiny run to check the script works: {QUICK}")
    parser.add_argument("--output", default=str(HERE / "results.md"),
                        help="markdown file to write (default benchmarks/results.md)")
    parser.add_argument("--verbose", action="store_true", help="print one line per epoch")
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
