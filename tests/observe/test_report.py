"""``gradstep report``: the page's content, its text-only fallback, and a real headless browser rendering it."""
import os
import re

import pytest

import gradstep as gs
from gradstep import models
from gradstep.data import DataLoader, datasets
from gradstep.observe import Observatory, plots
from gradstep.observe.report import render_report, write_report
from gradstep.train import CSVLogger, Trainer

from . import _browser
from ._runs import digits, fit, mlp

ARTIFACTS = os.environ.get("GRADSTEP_TEST_ARTIFACTS",
                           os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "test-artifacts"))


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("digits_run")
    train, val = digits()
    gs.manual_seed(0)
    model = mlp()
    fit(model, gs.optim.Adam(model.parameters(), lr=1e-3), train, val, epochs=4, run_dir=str(run))
    return str(run)


@pytest.fixture(scope="module")
def spirals_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("spirals_run")
    gs.manual_seed(0)
    model = mlp(inputs=2, width=32, classes=3)
    with gs.no_grad():
        model[2].bias.fill_(-3.0)  # a broken layer, so the report has a diagnosis to show
    fit(model, gs.optim.Adam(model.parameters(), lr=1e-2), datasets.spirals(n=240), datasets.spirals(n=120, seed=5),
        epochs=8, run_dir=str(run))
    return str(run)


@pytest.fixture(scope="module")
def gpt_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("gpt_run")
    text = "the cat sat on the mat and the dog sat on the log. " * 12
    data = datasets.CharDataset.from_text(text, block_size=16)
    gs.manual_seed(0)
    model = models.GPT(vocab_size=data.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=16)
    obs = Observatory(every=2, run_dir=str(run), log=False)
    trainer = Trainer(model, gs.optim.AdamW(model.parameters(), lr=3e-3), models.lm_loss, metrics=(),
                      callbacks=[obs, CSVLogger(os.path.join(run, "metrics.csv"), every_n_steps=2)], progress=False)
    trainer.fit(DataLoader(data, batch_size=16, shuffle=True, seed=0), 1, max_steps=6)
    return str(run)


def _images(page):
    return re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,', page)


def test_digits_report_has_every_section(digits_run):
    path = write_report(digits_run)
    assert path == os.path.join(digits_run, "report.html")
    page = open(path, encoding="utf-8").read()
    for title in ("Diagnosis", "Loss, accuracy and learning rate", "Gradient flow", "Update-to-weight ratios",
                  "Activations", "Weights at the start and at the end", "Predictions on the validation set"):
        assert f"<h2>{title}</h2>" in page, title
    assert "No warnings" in page
    assert set(_images(page)) >= {"loss curves", "acc curves", "learning rate", "gradient flow heat map",
                                  "update ratios", "activation std", "weight histograms", "confusion matrix",
                                  "misclassified examples"}
    assert not re.search(r'(src|href)="(http|//|file:)', page)  # self-contained: nothing to fetch


def test_spirals_report_shows_boundaries_and_diagnosis(spirals_run):
    page = render_report(spirals_run)
    assert "<h2>Decision boundary during training</h2>" in page and "decision boundaries" in _images(page)
    assert 'class="finding"><b>dead-relu</b>' in page and "Try: " in page


def test_gpt_report_shows_generated_text(gpt_run):
    page = render_report(gpt_run)
    assert "<h2>Generated text</h2>" in page and "<pre>" in page
    assert "confusion matrix" not in _images(page)


def test_without_matplotlib_the_report_keeps_text_and_says_how_to_get_plots(digits_run, monkeypatch):
    monkeypatch.setattr(plots, "available", lambda: False)
    page = render_report(digits_run)
    assert "pip install &#x27;gradstep[plot]&#x27;" in page
    assert _images(page) == []
    assert "<th>‖Δw‖/‖w‖</th>" in page and "true \\ predicted" in page  # tables remain


def test_report_of_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such run folder"):
        render_report(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="is it a gradstep run folder"):
        render_report(tmp_path)


def test_report_renders_in_headless_chromium(digits_run, spirals_run):
    if _browser.find_chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but chromium is not installed (apt-get install -y chromium): the report must be "
                        "checked in a real browser")
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    for name, run in (("report", digits_run), ("report-spirals", spirals_run)):
        path = write_report(run)
        shot = os.path.join(ARTIFACTS, f"{name}.png")
        info = _browser.render(path, screenshot=shot)
        assert info["errors"] == [], info["errors"]
        assert info["title"].startswith("gradstep report")
        assert len(info["images"]) >= 6
        bad = [i for i in info["images"] if not (i["complete"] and i["naturalWidth"] > 0)]
        assert bad == [], bad
        assert os.path.getsize(shot) > 20_000
        with open(shot, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
