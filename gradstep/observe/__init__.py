"""Watch it learn: statistics, diagnosis, anomaly detection, the report, ``explain`` and the LR finder.

>>> from gradstep.observe import Observatory
>>> trainer = Trainer(model, opt, callbacks=[Observatory(every=20, run_dir="runs/mine")])
>>> trainer.fit(loader, epochs=5)
>>> from gradstep.observe import write_report
>>> write_report("runs/mine")          # runs/mine/report.html
"""
from .anomaly import AnomalyError, detect_anomaly, is_anomaly_enabled
from .diagnosis import Diagnoser, Finding
from .hooks import ActivationCapture, observed_layers
from .observatory import DEFAULT_EVERY, Observatory
from .recorder import read_findings, read_observations
from .stats import activation_stats, update_ratio

__all__ = [
    "Observatory", "DEFAULT_EVERY", "Diagnoser", "Finding", "detect_anomaly", "AnomalyError", "is_anomaly_enabled",
    "ActivationCapture", "observed_layers", "activation_stats", "update_ratio", "read_observations", "read_findings",
]
