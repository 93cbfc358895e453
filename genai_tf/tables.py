"""Markdown tables of results: the one generic table function, the sample-quality report of
:mod:`genai_tf.sample_quality`, and the sample-metric columns of notebook 05's results table."""

from __future__ import annotations


def markdown_table(rows, columns, formats=None, missing="—", index="") -> str:
    """A markdown table: the one table function of the course (notebooks, benchmarks, the CLI).

    ``rows`` is ``{row name: {column: value}}`` (the names form a first column headed ``index``)
    or a list of ``{column: value}`` dicts (no name column). ``formats`` maps a column to a
    format string (``"{:.2f}"``) or a callable; a missing or None value prints as ``missing``.
    """
    formats = formats or {}

    def cell(row, column):
        value = row.get(column)
        if value is None:
            return missing
        style = formats.get(column, "{}")
        return style(value) if callable(style) else style.format(value)

    def line(cells):
        return "|" + "|".join(f" {text} " if text else " " for text in cells) + "|"

    if isinstance(rows, dict):
        header, named = [index, *columns], list(rows.items())
    else:
        header, named = list(columns), [(None, row) for row in rows]
    lines = [line(header), "|" + "---|" * len(header)]
    lines += [line(([] if name is None else [str(name)]) + [cell(row, column) for column in columns])
              for name, row in named]
    return "\n".join(lines)


# The sample-quality columns of a results table (notebook 05): heading -> evaluate_samples' key.
SAMPLE_COLUMNS = {"cFID ↓": "cfid", "KID ↓": "kid_mean", "IS ↑": "inception_score", "precision ↑": "precision",
                  "recall ↑": "recall", "max class share": "max_class_ratio"}
SAMPLE_FORMATS = {"cFID ↓": "{:.2f}", "KID ↓": "{:.3f}", "IS ↑": "{:.2f}", "precision ↑": "{:.3f}",
                  "recall ↑": "{:.3f}", "max class share": "{:.2f}"}  # markdown_table's formats for them


def sample_row(results, columns=None) -> dict:
    """One table row ``{heading: results[key]}`` from :func:`genai_tf.sample_quality.evaluate_samples`'
    results, for every ``heading: key`` of ``columns`` (default :data:`SAMPLE_COLUMNS`)."""
    return {heading: results[key] for heading, key in (columns or SAMPLE_COLUMNS).items()}


def format_report(results) -> str:
    """A markdown table of :func:`genai_tf.sample_quality.evaluate_samples`' results."""
    r = results
    shares = ", ".join(f"{c}: {100 * s:.0f}%" for c, s in enumerate(r["class_histogram"]))
    rows = [
        ("cFID ↓", f"{r['cfid']:.2f}", f"floor {r['cfid_floor']:.2f}: {r['floor_size']} held-out "
         f"real images in place of the {r['num_compared']} samples; FID shrinks as n grows"),
        ("KID ↓", f"{r['kid_mean']:.3f} ± {r['kid_std']:.3f}", "0 = same distribution"),
        ("Inception score ↑", f"{r['inception_score']:.2f} ± {r['inception_score_std']:.2f}",
         f"real images {r['inception_score_real']:.2f}; at most {len(r['class_histogram'])}"),
        ("precision ↑", f"{r['precision']:.3f}",
         f"share of samples that look real (fidelity); held-out real {r['precision_real']:.3f}"),
        ("recall ↑", f"{r['recall']:.3f}",
         f"share of real data the samples cover (diversity); held-out real {r['recall_real']:.3f}"),
        ("max class share ratio", f"{r['max_class_ratio']:.2f}",
         f"1 = balanced, {len(r['class_histogram'])} = one class (mode collapse)"),
        ("class histogram", shares, "classes the classifier predicts for the samples"),
    ]
    header = (f"{r['num_samples']} samples ({r['num_compared']} of them for cFID and precision / recall, "
              f"as many as the floor's real images) vs {r['num_reference']} reference real images; "
              f"classifier test accuracy {100 * r['classifier_accuracy']:.1f}%")
    table = markdown_table([{"metric": name, "value": value, "reading": note} for name, value, note in rows],
                           ["metric", "value", "reading"])
    return header + "\n\n" + table
