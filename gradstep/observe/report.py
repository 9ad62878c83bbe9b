"""``gradstep report RUN_DIR``: one self-contained HTML page about a training run.

Everything is inside the file (CSS inline, figures as base64 PNGs, no
scripts, no links to load), so it opens offline and can be mailed around.
It reads only the run folder: ``config.toml``, ``summary.json``,
``metrics.csv`` and what an :class:`~gradstep.observe.Observatory` wrote
(``observations.jsonl``, ``diagnosis.jsonl``, ``observe/``). Sections whose
data is missing are left out with a line saying why; without matplotlib the
page keeps its tables and text and says how to get the plots.

>>> write_report("runs/mlp-digits-20240501-120000")    # -> .../report.html
"""
from __future__ import annotations

import csv
import html
import math
import os

import numpy

from . import plots
from .recorder import read_arrays, read_findings, read_json, read_observations
from ..errors import PathNotFound
from ..train.progress import format_value

__all__ = ["write_report", "render_report"]

_CSS = """
body{font:14px/1.45 -apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0 auto;max-width:1000px;padding:16px 24px;
color:#222}h1{font-size:22px;margin-bottom:2px}h2{font-size:17px;border-bottom:1px solid #ddd;padding-bottom:3px;
margin-top:30px}.muted{color:#777}table{border-collapse:collapse;margin:8px 0;font-size:12.5px}td,th{border:1px solid #ddd;
padding:3px 8px;text-align:right}th{background:#f4f4f4}td.l,th.l{text-align:left}img{max-width:100%;display:block;
margin:6px 0}.finding{border-left:4px solid #d62728;background:#fff5f5;padding:6px 10px;margin:6px 0}.finding b{color:#b00}
.ok{border-left:4px solid #2ca02c;background:#f3fbf3;padding:6px 10px}.note{background:#fffbe6;border:1px solid #f0e0a0;
padding:6px 10px}pre{background:#f6f6f6;padding:8px;white-space:pre-wrap}
"""


def _e(x) -> str:
    return html.escape(str(x))


def _fmt(v) -> str:
    if v is None or v == "":
        return ""
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        return f"{v:.4g}"
    return str(v)


def _table(headers: list, rows: list, left: int = 1, logs: bool = False) -> str:
    """An HTML table; ``logs``: the columns are training-log keys, formatted as in the training log."""
    def cell(tag, i, text):
        return f'<{tag} class="l">{text}</{tag}>' if i < left else f"<{tag}>{text}</{tag}>"

    def text(h, c):
        return format_value(h, c) if logs and isinstance(c, float) else _fmt(c)

    head = "".join(cell("th", i, _e(h)) for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(cell("td", i, _e(text(headers[i] if i < len(headers) else "", c)))
                                    for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _img(b64: str | None, alt: str) -> str:
    if b64 is None:
        return ""
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{b64}">'


def _read_metrics(run_dir: str) -> list[dict]:
    path = os.path.join(run_dir, "metrics.csv")
    if not os.path.exists(path):
        return []
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            rows.append({k: _num(v) for k, v in row.items()})
    return rows


def _num(v):
    if v is None or v == "":
        return None
    try:
        return int(v)
    except ValueError:
        try:
            return float(v)
        except ValueError:
            return v


def _column(rows: list, key: str, x: str) -> tuple[list, list]:
    pts = [(r[x], r[key]) for r in rows if isinstance(r.get(key), (int, float)) and r.get(x) is not None]
    return [p[0] for p in pts], [p[1] for p in pts]


# ------------------------------------------------------------------------------ sections
def _header(run_dir, summary, config) -> str:
    name = os.path.basename(os.path.abspath(run_dir))
    bits = []
    for key in ("model", "dataset", "optimizer", "lr", "batch_size", "epochs", "seed"):
        if key in config:
            bits.append(f"{key} <b>{_e(config[key])}</b>")
    status = summary.get("status")
    final = summary.get("final") or {}
    out = [f"<h1>gradstep run report: {_e(name)}</h1>", f'<p class="muted">{_e(os.path.abspath(run_dir))}</p>']
    if bits:
        out.append("<p>" + " · ".join(bits) + "</p>")
    if status:
        extra = f" ({_e(summary.get('error'))})" if summary.get("error") else ""
        out.append(f"<p>status: <b>{_e(status)}</b>{extra}"
                   + (f", {summary['steps']} steps" if "steps" in summary else "")
                   + (f" in {summary['seconds']} s" if "seconds" in summary else "")
                   + "</p>")
    if final:
        keys = [k for k in final if k not in ("epoch", "step") and isinstance(final[k], (int, float))]
        out.append(_table(["final"] + keys, [["value"] + [final[k] for k in keys]]))
    return "\n".join(out)


def _diagnosis(findings: list, have_obs: bool) -> str:
    out = ["<h2>Diagnosis</h2>"]
    if not findings:
        if have_obs:
            out.append('<p class="ok">No warnings: gradients, activations, update sizes and the loss curves '
                       'looked healthy to every rule.</p>')
        else:
            out.append('<p class="muted">No observations for this run, so no diagnosis (train with an Observatory, '
                       'e.g. <code>gradstep train --report</code>).</p>')
    for f in findings:
        where = f"step {f.get('step')}" + (f", epoch {f['epoch']}" if f.get("epoch") is not None else "")
        out.append(f'<div class="finding"><b>{_e(f.get("rule"))}</b> <span class="muted">({_e(where)})</span>: '
                   f'{_e(f.get("message"))}.<br>Try: {_e(f.get("fix"))}.</div>')
    return "\n".join(out)


def _curves(metrics: list, obs: list) -> str:
    out = ["<h2>Loss, accuracy and learning rate</h2>"]
    steps = [r for r in metrics if r.get("kind") == "step"]
    epochs = [r for r in metrics if r.get("kind") == "epoch"]
    series = []
    if steps:
        series.append(("train loss (logged steps)", *_column(steps, "train_loss", "step")))
    elif obs:
        series.append(("train loss (observed steps)", [r["step"] for r in obs], [r.get("loss") for r in obs]))
    if epochs:
        series.append(("train loss (epoch mean)", *_column(epochs, "train_loss", "step"), "o-"))
        if any(r.get("val_loss") is not None for r in epochs):
            series.append(("validation loss", *_column(epochs, "val_loss", "step"), "s-"))
    if series:
        out.append(_img(plots.lines(series, "loss", "step", "loss", logy=_positive(series)), "loss curves"))
    else:
        out.append('<p class="muted">No metrics.csv and no observations: nothing to plot.</p>')
    metric_keys = sorted({k[len("train_"):] for r in epochs for k in r if k.startswith("train_") and k != "train_loss"})
    for m in metric_keys:
        s = [(f"train {m}", *_column(epochs, f"train_{m}", "epoch"), "o-")]
        if any(r.get(f"val_{m}") is not None for r in epochs):
            s.append((f"validation {m}", *_column(epochs, f"val_{m}", "epoch"), "s-"))
        out.append(_img(plots.lines(s, m, "epoch", m), f"{m} curves"))
    lr_src = steps if any(r.get("lr") is not None for r in steps) else epochs
    xs, ys = _column(lr_src, "lr", "step")
    if not xs and obs:
        xs, ys = [r["step"] for r in obs if r.get("lr") is not None], [r["lr"] for r in obs if r.get("lr") is not None]
    if xs:
        out.append(_img(plots.lines([("learning rate", xs, ys)], "learning rate", "step", "lr"), "learning rate"))
    speed = [(r["step"], r["throughput"]) for r in obs if r.get("throughput")]
    if len(speed) > 1:
        out.append(_img(plots.lines([("samples/s", [s for s, _ in speed], [v for _, v in speed])],
                                    "throughput (samples per second between observations)", "step", "samples/s"),
                        "throughput"))
    if epochs:
        keys = [k for k in ("epoch", "step", "train_loss", "val_loss", *(f"train_{m}" for m in metric_keys),
                            *(f"val_{m}" for m in metric_keys), "lr") if any(r.get(k) is not None for r in epochs)]
        shown = epochs if len(epochs) <= 30 else epochs[:: math.ceil(len(epochs) / 30)] + [epochs[-1]]
        out.append(_table(keys, [[r.get(k) for k in keys] for r in shown], left=0, logs=True))
    return "\n".join(out)


def _positive(series) -> bool:
    vals = [v for s in series for v in s[2] if v is not None]
    return bool(vals) and min(vals) > 0 and max(vals) / min(vals) > 20


def _weights_of(obs: list) -> list[str]:
    names = list(obs[-1]["params"]) if obs else []
    return [n for n in names if obs[-1]["params"][n].get("ndim", 2) >= 2] or names


def _gradient_flow(obs: list) -> str:
    out = ["<h2>Gradient flow</h2>",
           "<p>Gradient norm ‖g‖ of each weight (rows, first layer at the top) at each observed step (columns). "
           "Healthy training keeps every row within a few orders of magnitude of the others; rows fading to dark "
           "at the top are vanishing gradients, bright bands are exploding ones.</p>"]
    names = _weights_of(obs)
    steps = [r["step"] for r in obs]
    matrix = [[(r["params"].get(n) or {}).get("grad_norm") or 0.0 for r in obs] for n in names]
    out.append(_img(plots.heatmap(matrix, names, steps, "gradient norm per weight over time", "log10 ‖g‖"),
                    "gradient flow heat map"))
    last = obs[-1]
    rows = [[n, p.get("norm"), p.get("grad_norm"), p.get("update_ratio")] for n, p in last["params"].items()]
    out.append(f"<p>At step {last['step']}:</p>" + _table(["parameter", "‖w‖", "‖g‖", "‖Δw‖/‖w‖"], rows))
    return "\n".join(out)


def _update_ratios(obs: list) -> str:
    out = ["<h2>Update-to-weight ratios</h2>",
           "<p>‖Δw‖/‖w‖: how much one optimizer step changes each weight, relative to its size. Around 1e-3 "
           "(green band: 1e-4 to 1e-2) is the usual healthy range; far above, the learning rate is too high; "
           "far below, learning is slow.</p>"]
    names = _weights_of(obs)
    series = [(n, [r["step"] for r in obs], [(r["params"].get(n) or {}).get("update_ratio") for r in obs])
              for n in names]
    out.append(_img(plots.lines(series, "update ratio per weight", "step", "‖Δw‖/‖w‖", logy=True,
                                band=(1e-4, 1e-2, "healthy range")), "update ratios"))
    return "\n".join(out)


def _activations(obs: list) -> str:
    out = ["<h2>Activations</h2>"]
    layers = list(obs[-1]["layers"])
    if not layers:
        return ""
    steps = [r["step"] for r in obs]
    act = [n for n in layers if any(k in obs[-1]["layers"][n] for k in ("dead", "saturated"))] or layers
    out.append(_img(plots.lines([(n, steps, [(r["layers"].get(n) or {}).get("std") for r in obs]) for n in act],
                                "activation standard deviation per layer", "step", "std"), "activation std"))
    frac = [(n + (" (dead)" if "dead" in obs[-1]["layers"][n] else " (saturated)"), steps,
             [(r["layers"].get(n) or {}).get("dead", (r["layers"].get(n) or {}).get("saturated")) for r in obs])
            for n in layers if any(k in obs[-1]["layers"][n] for k in ("dead", "saturated"))]
    if frac:
        out.append(_img(plots.lines(frac, "dead ReLU units / saturated outputs", "step", "fraction"),
                        "dead and saturated fractions"))
    last = obs[-1]
    rows = [[n, s.get("type"), "×".join(str(d) for d in s.get("shape", [])), s.get("mean"), s.get("std"),
             s.get("dead", ""), s.get("saturated", ""), s.get("grad_norm")] for n, s in last["layers"].items()]
    out.append(f"<p>At step {last['step']} (grad norm: of the gradient arriving at the layer's output):</p>"
               + _table(["layer", "type", "shape", "mean", "std", "dead", "saturated", "grad norm"], rows, left=3))
    return "\n".join(out)


def _histograms(run_dir: str, order: list) -> str:
    start, end = read_arrays(run_dir, "weights_start"), read_arrays(run_dir, "weights_end")
    if start is None or end is None:
        return ""
    rank = {n: i for i, n in enumerate(order)}
    common = sorted((n for n in start if n in end), key=lambda n: (rank.get(n, len(rank)), _natural(n)))
    names = [n for n in common if start[n].ndim >= 2][:9] or common[:9]
    items = [(n, start[n], end[n]) for n in names]
    rows = [[n, float(start[n].mean()), float(start[n].std()), float(end[n].mean()), float(end[n].std())]
            for n in names]
    return ("<h2>Weights at the start and at the end</h2>"
            + _img(plots.histograms(items, "weight histograms: start vs end"), "weight histograms")
            + _table(["weight", "start mean", "start std", "end mean", "end std"], rows))


def _natural(name: str) -> list:
    """Sort key that puts ``layers.10`` after ``layers.2``."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in name.split(".")]


def _classes(run_dir: str, extra: dict) -> str:
    info = read_json(run_dir, "classes") or extra.get("classes")
    if info is None:
        return ""
    out = [f"<h2>Predictions on the {_e(info.get('split', ''))} set</h2>",
           f"<p>{info['count']} examples, accuracy {info['accuracy']:.2%}.</p>"]
    classes, m = info["classes"], info["confusion"]
    img = plots.confusion(m, classes)
    out.append(_img(img, "confusion matrix") if img else
               "<p>Confusion matrix (rows: true class, columns: predicted):</p>"
               + _table(["true \\ predicted"] + classes, [[c] + row for c, row in zip(classes, m)]))
    arrays = read_arrays(run_dir, "misclassified") if "classes" not in extra else extra.get("misclassified")
    shape = info.get("image_shape")
    examples = info.get("examples") or []
    if examples and shape and arrays is not None:
        imgs = arrays["inputs"].reshape((len(examples), *shape))
        caps = [f"{classes[e['label']]}→{classes[e['pred']]} ({e['prob']:.0%})" for e in examples]
        out.append(_img(plots.image_grid(imgs, caps, "misclassified (true → predicted, confidence)"),
                        "misclassified examples"))
    if examples:
        out.append(_table(["example", "true", "predicted", "confidence"],
                          [[e["index"], classes[e["label"]], classes[e["pred"]], e["prob"]] for e in examples[:12]]))
    return "\n".join(out)


def _boundaries(run_dir: str) -> str:
    arrays = read_arrays(run_dir, "boundary")
    if arrays is None:
        return ""
    epochs = sorted(int(k[6:11]) for k in arrays if k.endswith(".pred"))
    if not epochs:
        return ""
    pick = sorted({epochs[int(round(i))] for i in numpy.linspace(0, len(epochs) - 1, min(6, len(epochs)))})
    snaps = [(e, arrays[f"epoch_{e:05d}.pred"], arrays[f"epoch_{e:05d}.conf"]) for e in pick]
    img = plots.boundaries(arrays["xs"], arrays["ys"], snaps, arrays["points"], arrays["labels"])
    text = "" if img else f"<p>Snapshots saved at epochs {', '.join(map(str, epochs))}.</p>"
    return ("<h2>Decision boundary during training</h2><p>The class the network predicts at each point of the "
            "plane, with the training points on top.</p>" + _img(img, "decision boundaries") + text)


def _samples(run_dir: str, extra: dict) -> str:
    s = read_json(run_dir, "samples") or extra.get("samples")
    if s is None:
        return ""
    return (f"<h2>Generated text</h2><p>Prompt {_e(repr(s.get('prompt')))}, {s.get('tokens')} new tokens, "
            f"temperature {s.get('temperature')}:</p><pre>{_e(s.get('text', ''))}</pre>")


def _from_model(run_dir: str) -> dict:
    """For a run trained without an Observatory: predictions and text samples from its saved model.

    Best effort: only a ``gradstep train`` run folder (config.toml + model or checkpoint) qualifies, and
    any failure (a dataset file that moved, an unknown model) just leaves those sections out.
    """
    from .. import backend
    from . import snapshots

    need_classes = read_json(run_dir, "classes") is None
    need_samples = read_json(run_dir, "samples") is None
    if not (need_classes or need_samples) or not os.path.exists(os.path.join(run_dir, "config.toml")):
        return {}
    rng = backend.get_rng_state()
    try:
        from ..train import recipe

        model, meta = recipe.load_model(run_dir)
        job = recipe.build(recipe.resolve_config(meta["config"]))
        out = {}
        if need_classes and meta["data_info"].get("task") == "classification":
            res = snapshots.class_results(model, job.val_loader.dataset)
            if res is not None:
                out["classes"], out["misclassified"] = res
                out["classes"]["split"] = "validation"
        if need_samples and meta["data_info"].get("task") == "lm":
            backend.manual_seed(0)
            out["samples"] = snapshots.generate_samples(model, job.train_loader.dataset)
        return out
    except Exception:  # noqa: BLE001 - see the docstring
        return {}
    finally:
        backend.set_rng_state(rng)


# ---------------------------------------------------------------------------------- page
def render_report(run_dir) -> str:
    """The report of ``run_dir`` as an HTML string."""
    from ..train.run_dir import read_summary, read_toml

    run_dir = os.fspath(run_dir)
    if not os.path.isdir(run_dir):
        raise PathNotFound(f"report: no such run folder: {run_dir}")
    config_path = os.path.join(run_dir, "config.toml")
    config = read_toml(config_path) if os.path.exists(config_path) else {}
    summary = read_summary(run_dir)
    metrics, obs, findings = _read_metrics(run_dir), read_observations(run_dir), read_findings(run_dir)
    if not (metrics or obs or summary):
        raise PathNotFound(f"report: {run_dir} has no metrics.csv, observations.jsonl or summary.json; "
                           "is it a gradstep run folder?")
    parts = [_header(run_dir, summary, config)]
    if not plots.available():
        parts.append(f'<p class="note">Plots need matplotlib, which is not installed: <code>{_e(plots.INSTALL_HINT)}'
                     "</code>, then run <code>gradstep report</code> again. Tables and text are below.</p>")
    parts.append(_diagnosis(findings, bool(obs)))
    parts.append(_curves(metrics, obs))
    if obs:
        parts += [_gradient_flow(obs), _update_ratios(obs), _activations(obs)]
    else:
        parts.append('<p class="muted">No observations.jsonl: gradient flow, update ratios and activation '
                     "statistics need a run trained with an Observatory.</p>")
    extra = _from_model(run_dir)
    parts += [_histograms(run_dir, list(obs[-1]["params"]) if obs else []), _classes(run_dir, extra),
              _boundaries(run_dir), _samples(run_dir, extra)]
    body = "\n".join(p for p in parts if p)
    title = _e(f"gradstep report: {os.path.basename(os.path.abspath(run_dir))}")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f"<style>{_CSS}</style></head><body>\n{body}\n"
            f'<p class="muted">Written by gradstep from the files of the run folder.</p></body></html>\n')


def write_report(run_dir, path=None) -> str:
    """Write the report of ``run_dir`` to ``path`` (default ``RUN_DIR/report.html``); returns the path."""
    from ..interop.safetensors import atomic_write

    text = render_report(run_dir)
    path = os.fspath(path) if path is not None else os.path.join(os.fspath(run_dir), "report.html")
    atomic_write(path, text.encode("utf-8"))
    os.chmod(path, 0o644)  # a page to share, not a secret (the atomic temporary file is created 0600)
    return path
