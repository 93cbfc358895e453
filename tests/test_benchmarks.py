"""Tests of the benchmark scripts under benchmarks/ (imported as ``benchmarks.*``: the project root
is on the path, as for ``python -m benchmarks.vgn``; they are not part of the package).

The full benchmarks take tens of minutes on real MNIST; here each runs in its ``--quick`` mode
on the bundled digits, to prove the script still works end to end and writes its table.
"""

import math
import re

import pytest


def table_rows(text, model):
    """The cells of the markdown table rows that start with ``| model |``."""
    return [[cell.strip() for cell in line.strip("|").split("|")]
            for line in text.splitlines() if line.startswith(f"| {model} |")]


def numbers(cells):
    return [float(value) for cell in cells for value in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", cell)]


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:`shuffle=True` was passed")
def test_vgn_quick_run_writes_a_table_of_finite_numbers(tmp_path, capsys):
    from benchmarks import vgn
    output = tmp_path / "results_vgn.md"
    assert vgn.main(["--quick", "--dataset", "digits", "--output", str(output)]) == 0

    text = output.read_text()
    assert text.startswith("# Variational generative networks benchmark (quick check, not a result)")
    assert "not judged (quick run)" in text
    assert "## Machine" in text or "Machine:" in text
    for model, columns in [("cvae", 15), ("vae", 14), ("vaegan", 14)]:
        rows = table_rows(text, model)
        assert len(rows) == 1, (model, text)
        cells = rows[0]
        assert len(cells) == columns, (model, cells)
        assert not any(word in cell.lower() for cell in cells for word in ("nan", "inf")), (model, cells)
        values = numbers(cells[1:])
        assert values and all(math.isfinite(value) for value in values), (model, cells)
    cvae = table_rows(text, "cvae")[0]
    accuracy = float(cvae[6].strip("*%")) / 100  # share read as requested
    assert 0.0 <= accuracy <= 1.0
    assert float(cvae[13].split()[0]) < 0  # test conditional ELBO in nats: a log-probability bound
    vae, vaegan = table_rows(text, "vae")[0], table_rows(text, "vaegan")[0]
    assert vae[-2] == "1.000"  # the VAE is its own reference
    assert float(vaegan[-2]) == pytest.approx(float(vaegan[6]) / float(vae[6]), rel=1e-2)  # cFID ratio
    assert "wrote" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:`shuffle=True` was passed")
def test_diffusion_quick_run_writes_its_tables(tmp_path):
    from benchmarks import diffusion
    output = tmp_path / "results_diffusion.md"
    assert diffusion.main(["--quick", "--dataset", "digits", "--compare", "dcgan", "--steps", "2,5",
                           "--guidance", "0,0.5", "--output", str(output)]) == 0
    text = output.read_text()
    assert text.startswith("# Diffusion benchmark (quick check, not a result)")
    rows = {model: table_rows(text, model) for model in
            [f"diffusion, {sampler}, {steps} steps, η = {eta}" for steps in (2, 5)
             for sampler, eta in (("class from p(y), DPM-Solver++(2M)", 0), ("class from p(y), DDIM", 1),
                                  ("class from p(y), DDIM", 0), ("null class, DPM-Solver++(2M)", 0))]
            + ["dcgan (same budget)"]}
    for model, found in rows.items():
        assert len(found) == 1, (model, text)
        values = numbers(found[0][1:])
        assert values and all(math.isfinite(value) for value in values), (model, found)
    guided = [line for line in text.splitlines() if line.startswith("| 0 |") or line.startswith("| 0.5 |")
              or line.startswith("| cgan (same budget) |")]
    assert len(guided) == 3, text  # the two weights and the conditional GAN at the default weight's n
    for line in guided:
        share = float(line.split("|")[3].strip().rstrip("%")) / 100
        assert 0.0 <= share <= 1.0
    # few steps vs 25, cFID vs DCGAN, guided accuracy, sampling time
    assert text.count("not judged (quick run)") == 4


@pytest.mark.slow
def test_text_quick_run_scores_every_step_on_the_same_text(tmp_path):
    from benchmarks import text as text_benchmark
    output = tmp_path / "results_text.md"
    assert text_benchmark.main(["--quick", "--output", str(output)]) == 0
    report = output.read_text()
    assert report.startswith("# Text benchmark (quick check, not a result)")
    scores = {}
    for model in ("unigram (counted)", "5-gram, add-k (k = 0.03)", "7-gram, Kneser–Ney (family ngram)",
                  "char_mlp (context 128)", "lstm (context 128)", "transformer (context 256)"):
        cells = table_rows(report, model)[0]  # the results table (the networks are in the speed table too)
        values = numbers(cells[1:])
        assert values and all(math.isfinite(value) for value in values), (model, cells)
        validation, test_nats, test_bits = (float(cell) for cell in cells[5:8])
        assert test_bits == pytest.approx(test_nats / math.log(2), abs=2e-3)
        scores[model] = test_nats
    assert scores["7-gram, Kneser–Ney (family ngram)"] < scores["unigram (counted)"]  # counting is exact
    speeds = [line for line in report.splitlines() if line.startswith("| transformer (context 256) | 256 +")]
    assert len(speeds) == 1 and speeds[0].rstrip(" |").endswith("×")
    assert report.count("not judged (quick run)") == 3


def _gan_row(model, **values):
    row = {"model": model, "cfid": 5.0, "cfid_floor": 0.8, "max_class_ratio": 1.1, "recall": 0.87}
    return {**row, **values}


def test_gan_verdicts_apply_issue_12s_targets_against_the_dcgan_row():
    from benchmarks import gan

    dcgan = _gan_row("dcgan", cfid=4.0, recall=0.86)
    assert gan.verdict_of(_gan_row("wgan_gp", cfid=6.0, recall=0.87, max_class_ratio=1.2), dcgan, False).endswith(": met")
    for worse in ({"cfid": 6.1}, {"recall": 0.85}, {"max_class_ratio": 1.31}):  # 1.5x cFID, DCGAN's recall, 1.3x
        values = {"cfid": 6.0, "recall": 0.87, **worse}
        assert gan.verdict_of(_gan_row("wgan_gp", **values), dcgan, False).endswith("NOT met")
        assert gan.verdict_of(_gan_row("wgan_gp_ttur", **values), dcgan, False).endswith("NOT met")
    assert gan.verdict_of(_gan_row("wgan_gp_nc2", cfid=6.0, recall=0.87, max_class_ratio=1.2), dcgan, False).endswith(": met")
    good = {"accuracy": 0.985, "per_class": [0.99] * 9 + [0.95], "cfid": 4.0}
    assert gan.verdict_of(_gan_row("cgan", **good), dcgan, False).endswith(": met")
    for worse in ({"accuracy": 0.979}, {"per_class": [0.99] * 9 + [0.949]}, {"cfid": 4.01}):
        assert gan.verdict_of(_gan_row("cgan", **{**good, **worse}), dcgan, False).endswith("NOT met")
    assert "needs the DCGAN" in gan.verdict_of(_gan_row("cgan", **good), None, False)
    assert "not judged" in gan.verdict_of(_gan_row("cgan", **good), dcgan, True)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:`shuffle=True` was passed")
def test_gan_quick_run_scores_the_conditional_gan_per_requested_digit(tmp_path):
    from benchmarks import gan

    output = tmp_path / "results_gan.md"
    assert gan.main(["--quick", "--dataset", "digits", "--models", "dcgan,wgan_gp,cgan,cgan_auxiliary",
                     "--output", str(output)]) == 0
    text = output.read_text()
    for model in ("dcgan", "wgan_gp", "cgan", "cgan_auxiliary"):
        (cells,) = table_rows(text, model)
        assert all(math.isfinite(value) for value in numbers(cells[1:-1])), model
    (line,) = [line for line in text.splitlines() if line.startswith("- cgan:") and "overall" in line]
    overall, *per_digit = numbers([line.split(":", 1)[1]])
    assert len(per_digit) == 10 and 0 <= overall <= 100
    assert overall == pytest.approx(sum(per_digit) / 10, abs=0.11)  # equal numbers of each digit requested
