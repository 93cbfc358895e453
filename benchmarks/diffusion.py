"""Benchmark of the course's diffusion model against its DCGAN (and VAE) at the same CPU budget, on real MNIST.

Trains each family with its registered recipe through ``genai_tf.training.train`` (what
``genai-tf train diffusion --minutes M --clock cpu`` runs), then scores 10,000 unconditional
diffusion samples at each step count (5, 10, 25, 50) against the MNIST test set: cFID
next to the real-vs-real floor, KID, k-NN precision/recall and the class histogram, with the
sampling time per 1,000 images. The same table holds the comparison models' 10,000 samples.
Then the share of guided samples the classifier reads as the requested digit, at the default
guidance weight (1,000 per digit) and over a sweep of weights (with their cFID), beside notebook
06's conditional GAN (same budget, as many class-balanced samples as the default weight), and the
weight average (EMA) against the raw weights of the same run. Writes
``benchmarks/results_diffusion.md``::

    python -m benchmarks.diffusion --data-dir ../shared/data --models-dir /tmp/models   # ~75 min on 2 cores
    python -m benchmarks.diffusion --quick --dataset digits                            # checks the script

The budget is ``--minutes`` on ``--clock`` (default: 15 min on the CPU clock, i.e. 30 CPU-min
on 2 cores; see ``common.budget_seconds``). With ``--models-dir`` a killed run resumes and a
finished model is re-scored instead of retrained.
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
COMPARED = ("dcgan", "vae")
CONDITIONAL_COMPARED = ("cgan",)  # the fair comparator of guided samples (issue 24): same budget, same n
MAX_CLASS_RATIO = 1.3  # issue 10: unconditional samples' max class share
CLASS_ACCURACY_TARGET = 0.98  # issue 10: guided samples read as the requested digit
TARGET_STEPS = 25  # the cFID target is judged at 25 steps
FEW_STEP_RATIO = 1.5  # issue 24: the fewest steps' cFID within 1.5× of 25 steps'

SAMPLING_SECONDS_TARGET = 300.0  # 10,000 samples at 25 steps


def _scores(samples, test_images, classifier, seed):
    import numpy as np

    from genai_tf import sample_quality

    results = sample_quality.evaluate_samples(samples, test_images, classifier, seed=seed)
    results["histogram"] = np.round(np.asarray(results["class_histogram"]) * 100, 1).tolist()
    return results


def train(name, args):
    from genai_tf import training
    from genai_tf.models import registry

    chosen = registry.family(name)
    dataset = training.family_dataset(chosen, args.dataset, seed=args.seed, data_dir=args.data_dir,
                                      limit=256 if args.quick else None)
    print(f"== {name}: training for {'8 steps (quick)' if args.quick else f'{args.minutes:g} min ({args.clock} clock)'}",
          flush=True)
    return common.train_family(chosen, dataset, minutes=None if args.quick else args.minutes, clock=args.clock,
                               steps=8 if args.quick else None, seed=args.seed, models_dir=args.models_dir,
                               verbose=args.verbose)


def timed(function, *args, **kwargs):
    """``function(*args, **kwargs)`` and the wall seconds it took."""
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - start


# name -> (label, generate() options, the η values it runs at); no "|": the labels go into markdown tables.
# "joint" is the default sampler: y ~ p(y), then x ~ p(x | y) with the default solver (DPM-Solver++(2M) at
# η = 0, DDIM at η > 0); "joint-ddim" the same with DDIM at η = 0; "null" the null class (η = 0 only).
SAMPLERS = {"joint": ("class from p(y)", {}, None),
            "joint-ddim": ("class from p(y)", {"solver": "ddim"}, (0.0,)),
            "null": ("null class", {"null_class": True}, (0.0,))}


def solver_name(options, eta):
    """The solver a row's ``generate`` options use at ``eta``, as the tables print it."""
    solver = options.get("solver") or ("dpm++2m" if eta == 0 else "ddim")
    return {"ddim": "DDIM", "dpm++2m": "DPM-Solver++(2M)"}[solver]


def unconditional_rows(model, stats, args, classifier, test_images):
    """The unconditional samplers (the default draws y from p(y); the null class) at every step count and η."""
    rows = []
    for sampler in args.samplers:
        label, options, etas = SAMPLERS[sampler]
        for steps in args.steps:
            for eta in [eta for eta in args.etas if etas is None or eta in etas]:
                samples, seconds = timed(model.generate, args.num_samples, seed=args.seed + 1, steps=steps, eta=eta,
                                         **options)
                print(f"   {sampler}, {steps} steps, eta {eta:g}: {args.num_samples} samples in {seconds:.0f} s",
                      flush=True)
                rows.append({"model": f"diffusion, {label}, {solver_name(options, eta)}, {steps} steps, η = {eta:g}",
                             **stats,
                             "sampler": sampler, "steps": steps, "eta": eta,
                             "seconds_per_1000": 1000 * seconds / args.num_samples, "sampling_seconds": seconds,
                             **_scores(samples, test_images, classifier, args.seed)})
    return rows


def guided_rows(model, args, classifier, test_images):
    import numpy as np

    rows = []
    for weight in args.guidance:
        per_class = args.per_class if weight == model.guidance else args.sweep_per_class
        requested = np.repeat(np.arange(model.num_classes), per_class)
        samples, seconds = timed(model.generate, len(requested), seed=args.seed + 2, labels=requested,
                                 guidance=weight)
        predicted = classifier.predict(samples)
        scores = _scores(samples, test_images, classifier, args.seed)
        rows.append({"guidance": weight, "samples": len(requested), "seconds_per_1000": 1000 * seconds / len(requested),
                     "accuracy": float(np.mean(predicted == requested)),
                     "per_class": [float(np.mean(predicted[requested == k] == k)) for k in range(model.num_classes)],
                     **scores})
        print(f"   guidance {weight:g}: {rows[-1]['accuracy']:.2%} as requested, cFID {scores['cfid']:.2f}", flush=True)
    return rows


def conditional_row(name, run, args, classifier, test_images):
    """A conditional comparison model's row of the guidance table: as many class-balanced samples as
    the diffusion model's default weight, scored by the same judge."""
    import numpy as np

    from genai_tf import sample_quality

    requested = np.repeat(np.arange(run.model.num_classes), args.per_class)
    samples, seconds = timed(sample_quality.draw_samples, run.model, len(requested), seed=args.seed + 2, chunk=1000,
                             labels=requested)
    predicted = classifier.predict(samples)
    return {"guidance": f"{name} (same budget)", "samples": len(requested),
            "seconds_per_1000": 1000 * seconds / len(requested), "accuracy": float(np.mean(predicted == requested)),
            "per_class": [float(np.mean(predicted[requested == k] == k)) for k in range(run.model.num_classes)],
            **_scores(samples, test_images, classifier, args.seed)}


def sample_table(rows, quick) -> str:
    cells = []
    for row in rows:
        ratio = row["cfid"] / row["cfid_floor"]
        cell = {"model": row["model"], **common.timing_cells(row), **common.sample_cells(row),
                "cFID / floor": f"{ratio:.1f}", "max class share ×": f"{row['max_class_ratio']:.2f}",
                "s per 1,000 samples": f"{row['seconds_per_1000']:.2f}"}
        cells.append(cell)
    lines = [common.table(cells), "", "Class histogram of samples (% per class 0–9, by the course's classifier):", ""]
    lines += [f"- {row['model']}: {row['histogram']}" for row in rows]
    return "\n".join(lines)


def guidance_table(rows) -> str:
    cells = [{"guidance w": row["guidance"] if isinstance(row["guidance"], str) else f"{row['guidance']:g}",
              "samples": row["samples"],
              "read as requested": f"{row['accuracy']:.2%}", "weakest digit": f"{min(row['per_class']):.1%}",
              "cFID (floor)": f"{row['cfid']:.2f} ({row['cfid_floor']:.2f})",
              "cFID / floor": f"{row['cfid'] / row['cfid_floor']:.1f}",
              "precision / recall": f"{row['precision']:.3f} / {row['recall']:.3f}",
              "s per 1,000 samples": f"{row['seconds_per_1000']:.2f}"} for row in rows]
    return common.table(cells)


def verdicts(diffusion_rows, compared, guided, default_weight, quick) -> list[str]:
    default = [row for row in diffusion_rows if row["sampler"] == diffusion_rows[0]["sampler"]]
    deterministic = [row for row in default if row["eta"] == 0.0] or default
    at_target = next((row for row in deterministic if row["steps"] == TARGET_STEPS), deterministic[-1])
    lines = []
    fewest = min(deterministic, key=lambda row: row["steps"])
    if fewest is not at_target:
        lines.append("- " + common.verdict(fewest["cfid"] <= FEW_STEP_RATIO * at_target["cfid"],
                                           f"{fewest['model']}: cFID {fewest['cfid']:.2f} within {FEW_STEP_RATIO}× of "
                                           f"{at_target['steps']} steps' ({at_target['cfid']:.2f})", quick))
        best = min((row["cfid"] for row in diffusion_rows if row["steps"] == at_target["steps"]), default=None)
        if best is not None:
            lines.append(f"- for reference: {fewest['cfid'] / best:.2f}× the best {at_target['steps']}-step row "
                         f"({best:.2f})")
    if "dcgan" in compared:
        dcgan = compared["dcgan"]
        ok = at_target["cfid"] <= dcgan["cfid"] and at_target["max_class_ratio"] <= MAX_CLASS_RATIO
        lines.append("- " + common.verdict(ok, f"cFID at {at_target['steps']} steps ({at_target['cfid']:.2f}) ≤ DCGAN's "
                                               f"({dcgan['cfid']:.2f}) at the same budget, and max class share "
                                               f"{at_target['max_class_ratio']:.2f} ≤ {MAX_CLASS_RATIO}×", quick))
    default = [row for row in guided if row["guidance"] == default_weight]
    if default:
        lines.append("- " + common.verdict(default[0]["accuracy"] >= CLASS_ACCURACY_TARGET,
                                           f"{default[0]['accuracy']:.2%} read as requested at the default w = "
                                           f"{default_weight:g} (≥ {CLASS_ACCURACY_TARGET:.0%})", quick))
    seconds = at_target["seconds_per_1000"] * 10
    lines.append("- " + common.verdict(seconds <= SAMPLING_SECONDS_TARGET,
                                       f"10,000 samples at {at_target['steps']} steps in {seconds:.0f} s "
                                       f"(≤ {SAMPLING_SECONDS_TARGET:.0f} s)", quick))
    return lines


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist", help="mnist (default) or digits")
    parser.add_argument("--data-dir", default=None, help="folder with <dataset>.npz (else $GENAI_TF_DATA_DIR / tfds)")
    parser.add_argument("--minutes", type=float, default=15.0, help="each model's training budget (default 15)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="cpu")
    parser.add_argument("--compare", default="dcgan,vae",
                        help=f"comparison families at the same budget: {COMPARED} (empty: none)")
    parser.add_argument("--conditional-compare", default="cgan",
                        help=f"conditional models beside the guided samples, at the default weight's n: "
                             f"{CONDITIONAL_COMPARED} (empty: none)")
    parser.add_argument("--steps", default="5,10,25,50", help="sampling step counts to score")
    parser.add_argument("--etas", default="0,1", help="DDIM η values to score at every step count")
    parser.add_argument("--samplers", default="joint,joint-ddim,null",
                        help="unconditional samplers: joint (y ~ p(y), then x ~ p(x | y), the default solver), "
                             "joint-ddim (the same with DDIM) and null (the null class); the last two at η = 0 only")
    parser.add_argument("--guidance", default="0,0.5,1,2,3,4", help="guidance weights for the digits-on-request table")
    parser.add_argument("--num-samples", type=int, default=10_000)
    parser.add_argument("--per-class", type=int, default=1000, help="samples per digit at the default weight")
    parser.add_argument("--sweep-per-class", type=int, default=100, help="samples per digit at the other weights")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="8 training steps on 256 images, to check the script")
    parser.add_argument("--output", default=str(HERE / "results_diffusion.md"))
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--models-dir", default=None,
                        help="train each model into DIR/<family>: a killed run resumes there, a finished one is re-scored")
    args = parser.parse_args(argv)
    args.steps = [int(value) for value in args.steps.split(",")]
    args.guidance = [float(value) for value in args.guidance.split(",")]
    args.etas = [float(value) for value in args.etas.split(",")]
    args.samplers = [name.strip() for name in args.samplers.split(",") if name.strip()]
    if not args.samplers or set(args.samplers) - set(SAMPLERS):
        parser.error(f"--samplers {','.join(args.samplers)}: choose from {', '.join(SAMPLERS)}")
    args.compare = [name.strip() for name in args.compare.split(",") if name.strip()]
    unknown = sorted(set(args.compare) - set(COMPARED))
    if unknown:
        parser.error(f"unknown comparison model(s) {unknown}; choose from {COMPARED}")
    args.conditional_compare = [name.strip() for name in args.conditional_compare.split(",") if name.strip()]
    unknown = sorted(set(args.conditional_compare) - set(CONDITIONAL_COMPARED))
    if unknown:
        parser.error(f"unknown conditional comparison model(s) {unknown}; choose from {CONDITIONAL_COMPARED}")
    if args.quick:
        args.num_samples, args.per_class, args.sweep_per_class = 200, 10, 5
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from genai_tf import feature_classifier, sample_quality
    from genai_tf.data import images as image_data

    machine = common.machine_description()
    started = time.perf_counter()
    test = image_data.load(args.dataset, data_dir=args.data_dir, seed=0)
    test_images = test.images("test")
    classifier = feature_classifier.load_classifier(args.dataset, test.image_shape, data_dir=args.data_dir, verbose=0)

    runs = {name: train(name, args) for name in ["diffusion", *args.compare, *args.conditional_compare]}
    run, stats = runs["diffusion"]
    network = run.model
    print("== scoring diffusion samples", flush=True)
    rows = unconditional_rows(network, stats, args, classifier, test_images)
    compared = {}
    for name in args.compare:
        samples, seconds = timed(sample_quality.draw_samples, runs[name][0].model, args.num_samples,
                                 seed=args.seed, chunk=1000)
        compared[name] = {"model": f"{name} (same budget)", **runs[name][1], "seconds_per_1000": 1000 * seconds / args.num_samples,
                          **_scores(samples, test_images, classifier, args.seed)}
    ema_rows = []
    if network.ema_network is not None:
        raw, seconds = timed(network.generate, args.num_samples, seed=args.seed + 1, steps=TARGET_STEPS, use_ema=False)
        ema_rows.append({"model": f"diffusion, raw weights (no EMA), {TARGET_STEPS} steps", **stats,
                         "seconds_per_1000": 1000 * seconds / args.num_samples,
                         **_scores(raw, test_images, classifier, args.seed)})
    print("== digits on request", flush=True)
    guided = guided_rows(network, args, classifier, test_images)
    guided += [conditional_row(name, runs[name][0], args, classifier, test_images) for name in args.conditional_compare]

    title = "# Diffusion benchmark" + (" (quick check, not a result)" if args.quick else "")
    text = "\n".join([
        title, "",
        f"Data: {args.dataset} (train split for training; {len(test_images)} test images as the real set). "
        f"Each model trained for {args.minutes:g} min on the {args.clock} clock "
        f"({common.budget_seconds(args.minutes, args.clock) / 60:.0f} CPU-min on the CPU clock) with its "
        f"registered recipe. Unconditional samples: {args.num_samples} per row. Classifier test accuracy: "
        f"{classifier.test_accuracy:.1%}.", "",
        "## Unconditional samples against the comparison models", "",
        sample_table(rows + ema_rows + list(compared.values()), args.quick), "",
        "## Digits on request (classifier-free guidance, 25 steps of DPM-Solver++(2M))", "",
        guidance_table(guided), "",
        "## Targets", "",
        *verdicts(rows, compared, guided, network.guidance, args.quick), "",
        common.contention_note(machine), "",
        "Machine:", "",
        *[f"- {key}: {value}" for key, value in machine],
        f"- whole benchmark: {(time.perf_counter() - started) / 60:.1f} min", "",
    ])
    print(text)
    Path(args.output).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
