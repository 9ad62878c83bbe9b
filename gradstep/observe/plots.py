"""Figures for the report and the LR finder, as base64 PNG strings (matplotlib, an optional extra).

Only matplotlib's object API is used (``Figure`` + the Agg canvas): no
pyplot, no global state, no window, so plotting works headless and never
changes the user's matplotlib settings. Every function returns None when
matplotlib is missing; :data:`INSTALL_HINT` says how to get it.
"""
from __future__ import annotations

import base64
import io
import math

import numpy

__all__ = ["available", "INSTALL_HINT", "lines", "heatmap", "histograms", "confusion", "image_grid",
           "boundaries", "lr_curve"]

INSTALL_HINT = "pip install 'gradstep[plot]'  (or: pip install matplotlib)"

_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf"]


def available() -> bool:
    """True when matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=90)
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _guard(fn):
    def wrapper(*args, **kwargs):
        if not available():
            return None
        return fn(*args, **kwargs)

    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    return wrapper


def _finite(values) -> numpy.ndarray:
    a = numpy.asarray([numpy.nan if v is None else v for v in values], dtype=numpy.float64)
    return a


@_guard
def lines(series: list, title: str, xlabel: str, ylabel: str, logy: bool = False, logx: bool = False,
          band: tuple | None = None, width: float = 6.4, height: float = 3.4) -> str | None:
    """One axes of lines: ``series`` is a list of ``(label, xs, ys)`` or ``(label, xs, ys, style)``."""
    fig = _figure(width, height)
    ax = fig.add_subplot()
    for i, s in enumerate(series):
        label, xs, ys = s[:3]
        style = s[3] if len(s) > 3 else "-"
        ys = _finite(ys)
        if logy:
            ys = numpy.where(ys > 0, ys, numpy.nan)
        ax.plot(xs, ys, style, label=label, color=_COLORS[i % len(_COLORS)], lw=1.4, ms=4)
    if band is not None:
        ax.axhspan(band[0], band[1], color="#2ca02c", alpha=0.12, label=band[2] if len(band) > 2 else None)
    if logy:
        ax.set_yscale("log")
    if logx:
        ax.set_xscale("log")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if len(series) > 1 or band is not None:
        ax.legend(fontsize=7, ncol=2 if len(series) > 6 else 1)
    return _png(fig)


@_guard
def heatmap(matrix, row_labels: list, col_values: list, title: str, cbar_label: str, xlabel: str = "step") -> str | None:
    """Rows (layers) × columns (time) of a non-negative quantity, coloured on a log10 scale."""
    m = numpy.asarray(matrix, dtype=numpy.float64)
    with numpy.errstate(divide="ignore", invalid="ignore"):
        logm = numpy.where(m > 0, numpy.log10(m), numpy.nan)
    fig = _figure(7.0, 0.6 + 0.32 * max(len(row_labels), 3))
    ax = fig.add_subplot()
    im = ax.imshow(logm, aspect="auto", cmap="viridis", interpolation="nearest")
    ax.set_yticks(range(len(row_labels)), labels=row_labels, fontsize=7)
    n = len(col_values)
    ticks = sorted({int(round(t)) for t in numpy.linspace(0, n - 1, min(n, 8))}) if n else []
    ax.set_xticks(ticks, labels=[str(col_values[t]) for t in ticks], fontsize=7)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    cb = fig.colorbar(im, ax=ax)
    cb.set_label(cbar_label)
    return _png(fig)


@_guard
def histograms(items: list, title: str) -> str | None:
    """A grid of histograms, one per ``(name, start_values, end_values)``, start and end overlaid."""
    n = len(items)
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig = _figure(3.0 * cols, 2.3 * rows + 0.4)
    for i, (name, start, end) in enumerate(items):
        ax = fig.add_subplot(rows, cols, i + 1)
        both = numpy.concatenate([start.ravel(), end.ravel()]).astype(numpy.float64)
        both = both[numpy.isfinite(both)]
        lo, hi = (float(both.min()), float(both.max())) if both.size else (-1.0, 1.0)
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        bins = numpy.linspace(lo, hi, 41)
        ax.hist(start.ravel(), bins=bins, alpha=0.55, color=_COLORS[0], label="start")
        ax.hist(end.ravel(), bins=bins, alpha=0.55, color=_COLORS[1], label="end")
        ax.set_title(name, fontsize=8)
        ax.tick_params(labelsize=6)
        if i == 0:
            ax.legend(fontsize=7)
    fig.suptitle(title)
    return _png(fig)


@_guard
def confusion(matrix, classes: list) -> str | None:
    """The confusion matrix with its counts written in the cells."""
    m = numpy.asarray(matrix)
    k = len(m)
    size = min(1.2 + 0.45 * k, 9.0)
    fig = _figure(size + 1.0, size)
    ax = fig.add_subplot()
    im = ax.imshow(m, cmap="Blues")
    labels = [str(c)[:10] for c in classes]
    ax.set_xticks(range(k), labels=labels, fontsize=7, rotation=45 if k > 10 else 0)
    ax.set_yticks(range(k), labels=labels, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if k <= 20:
        top = m.max() if m.size else 0
        for i in range(k):
            for j in range(k):
                if m[i, j]:
                    ax.text(j, i, str(int(m[i, j])), ha="center", va="center", fontsize=6,
                            color="white" if m[i, j] > top / 2 else "black")
    fig.colorbar(im, ax=ax)
    ax.set_title("confusion matrix")
    return _png(fig)


@_guard
def image_grid(images: numpy.ndarray, captions: list, title: str) -> str | None:
    """Images (N, C, H, W) in a grid with a caption under each."""
    n = len(images)
    cols = min(8, n)
    rows = math.ceil(n / cols)
    fig = _figure(1.25 * cols, 1.45 * rows + 0.4)
    for i in range(n):
        ax = fig.add_subplot(rows, cols, i + 1)
        img = numpy.asarray(images[i], dtype=numpy.float64)
        if img.shape[0] == 3:
            img = numpy.transpose(img, (1, 2, 0))
            lo, hi = img.min(), img.max()
            ax.imshow((img - lo) / (hi - lo) if hi > lo else img * 0)
        else:
            ax.imshow(img[0], cmap="gray_r")
        ax.set_title(captions[i], fontsize=7)
        ax.axis("off")
    fig.suptitle(title, fontsize=9)
    return _png(fig)


@_guard
def boundaries(xs, ys, snaps: list, points, labels) -> str | None:
    """Small multiples of the predicted class over the plane: ``snaps`` is ``[(epoch, pred, conf), ...]``."""
    from matplotlib.colors import ListedColormap

    n = len(snaps)
    cols = min(3, n)
    rows = math.ceil(n / cols)
    k = int(max(int(labels.max()) if len(labels) else 0, max(int(p.max()) for _, p, _ in snaps)) + 1)
    cmap = ListedColormap(_COLORS[:max(k, 2)])
    fig = _figure(3.0 * cols, 2.9 * rows)
    extent = (float(xs[0]), float(xs[-1]), float(ys[0]), float(ys[-1]))
    for i, (epoch, pred, conf) in enumerate(snaps):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.imshow(pred, origin="lower", extent=extent, cmap=cmap, vmin=-0.5, vmax=cmap.N - 0.5, alpha=0.35,
                  aspect="auto", interpolation="nearest")
        ax.contour(numpy.asarray(xs), numpy.asarray(ys), pred, levels=numpy.arange(k) + 0.5, colors="k",
                   linewidths=0.6)
        ax.scatter(points[:, 0], points[:, 1], c=labels, cmap=cmap, vmin=-0.5, vmax=cmap.N - 0.5, s=6,
                   edgecolors="k", linewidths=0.2)
        ax.set_title("before training" if epoch == 0 else f"after epoch {epoch}", fontsize=8)
        ax.tick_params(labelsize=6)
    return _png(fig)


@_guard
def lr_curve(lrs, losses, smoothed, suggestion: float | None) -> str | None:
    """The LR range test: loss against learning rate (log x), with the suggested rate marked."""
    fig = _figure(6.4, 3.6)
    ax = fig.add_subplot()
    ax.plot(lrs, losses, color=_COLORS[7], lw=0.8, alpha=0.6, label="loss")
    ax.plot(lrs, smoothed, color=_COLORS[0], lw=1.6, label="smoothed loss")
    if suggestion is not None:
        ax.axvline(suggestion, color=_COLORS[1], ls="--", label=f"suggested lr {suggestion:.2g}")
    ax.set_xscale("log")
    finite = numpy.asarray(smoothed, dtype=numpy.float64)
    finite = finite[numpy.isfinite(finite)]
    if finite.size:
        lo, first = finite.min(), finite[0]
        ax.set_ylim(lo - 0.05 * abs(lo) - 1e-3, max(first * 1.6, lo + 1e-3))
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    ax.set_title("learning-rate range test")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return _png(fig)
