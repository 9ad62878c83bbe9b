"""``gradstep report RUN_DIR``: one self-contained HTML page about a run (plots embedded, opens offline)."""
from __future__ import annotations

import os
import sys

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    p = subparsers.add_parser(
        "report", help="write an HTML report of a run (curves, gradient flow, diagnosis, ...)",
        description="Write RUN_DIR/report.html: loss, accuracy and learning-rate curves, gradient flow per layer, "
                    "update ratios, weight histograms at start vs end, activation statistics, confusion matrix and "
                    "misclassified examples, decision boundaries (2-D data), generated text (gpt) and the "
                    "diagnosis. One file with every image inside; it opens offline.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder made by 'gradstep train'")
    p.add_argument("-o", "--output", metavar="FILE", help="where to write the page (default RUN_DIR/report.html)")
    p.set_defaults(run=run)
    return p


def run(args) -> int:
    from ..observe import plots
    from ..observe.report import write_report

    path = write_report(args.run_dir, args.output)
    if not plots.available():
        print(f"note: matplotlib is not installed, so the report has tables but no plots; {plots.INSTALL_HINT}",
              file=sys.stderr)
    print(f"report written to {os.path.abspath(path)}")
    return 0
