"""Generated texts side by side: one row per decoding setting, one column per model (notebook 08)."""

from __future__ import annotations

import html


def side_by_side_html(samples: dict, prompt: str | None = None) -> str:
    """An HTML table of ``samples[setting][model]`` (strings): a row per setting, a column per model,
    each text in a ``<pre>`` that keeps its line breaks; ``prompt`` (its last line or so) above."""
    models = list(dict.fromkeys(model for row in samples.values() for model in row))
    cell = 'style="vertical-align:top; text-align:left; white-space:pre-wrap; font-size:0.85em"'
    head = "".join(f"<th>{html.escape(model)}</th>" for model in models)
    rows = "".join(
        f"<tr><th style=\"vertical-align:top\">{html.escape(setting)}</th>"
        + "".join(f"<td {cell}><pre style=\"white-space:pre-wrap\">{html.escape(row.get(model, ''))}</pre></td>"
                  for model in models) + "</tr>"
        for setting, row in samples.items())
    above = "" if prompt is None else f"<p>Prompt (its end): <code>{html.escape(prompt)}</code></p>"
    return f"{above}<table><tr><th>setting</th>{head}</tr>{rows}</table>"
