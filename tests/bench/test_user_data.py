"""`tsreprog bench` on a user's CSV: read as train reads it, sized to its length, and a report.md that answers
"does the backbone help here?" with the rows that tie and what each costs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import synthetic_frame
from tsreprog.bench.report import answer, pick_configs, verdict_markdown
from tsreprog.cli.main import main
from tsreprog.models.registry import MODEL_SETTINGS


def row(mean, sd, seeds=3):
    return {"mean": mean, "sd": sd, "seeds": seeds, "seconds": 1.0, "parameters": 10}


@pytest.mark.parametrize("backbone, ablation, says", [
    (row(0.30, 0.01), row(0.40, 0.01), "the backbone helps"),
    (row(0.40, 0.01), row(0.30, 0.01), "does not help on this data, at this budget: the ablation is better"),
    (row(0.31, 0.01), row(0.30, 0.01), "does not help on this data, at this budget: reprog-minilm-compact 0.3100 "
                                       "against no-backbone 0.3000, a tie"),
    (row(0.31, None, 1), row(0.30, None, 1), "not yet: one seed"),
])
def test_the_answer_follows_the_two_sd_rule(backbone, ablation, says):
    assert says in answer({"reprog-minilm-compact": backbone, "no-backbone": ablation, "dlinear": row(0.2, 0.01)})


def test_bench_on_a_csv_with_its_own_date_column_writes_the_report(tmp_path, capsys):
    frame = synthetic_frame(400, 2).rename(columns={"date": "when"})
    path = tmp_path / "mine.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "bench"
    assert main(["bench", "--datasets", str(path), "--models", "no-backbone,dlinear,naive", "--seeds", "0,1",
                 "--date-column", "when", "--profile", "quick", "--output-dir", str(out), "--quiet"]) == 0
    report = (out / "report.md").read_text()
    assert "## mine" in report and "**Winner:**" in report and "Horizon 14, look-back 96" in report
    assert "no answer: the table needs" in report  # no pretrained row was asked for
    assert "rerun with `--profile standard`" in report  # the quick budget says it is not the converged answer
    # the pick trains from the file the report names, as its seed-0 cell trained (the CSV's own date column too)
    pick_file = out / "picks" / "mine.yaml"
    assert f"`tsreprog train --config {pick_file} --output-dir runs/mine`" in report
    picked = yaml.safe_load(pick_file.read_text())
    assert picked["train"]["date_column"] == "when" and picked["model"]["horizon"] == 14
    # only what the picked model reads: no backbone or prompt for a model without one
    assert set(picked["model"]) <= MODEL_SETTINGS[picked["model"]["model"]] and "prompt" not in picked["model"]
    assert main(["train", "--config", str(pick_file), "--epochs", "1", "--max-steps-per-epoch", "2",
                 "--output-dir", str(tmp_path / "run"), "--quiet"]) == 0
    trained = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["model"]
    assert {name: trained[name] for name in picked["model"]} == picked["model"]
    # no published figures exist for a user's data: no table of dashes
    assert "Beside published averages" not in (out / "table.md").read_text()
    cells = list((out / "cells" / "mine").glob("*/H14*.json"))
    assert len(cells) == 6


def test_report_names_the_tie_group():
    cells = [{"dataset": "d", "model": m, "horizon": 7, "seed": s, "mse": v + 0.001 * s, "device": "cpu",
              "precision": "32", "trainable_parameters": 5, "seconds_total": 2}
             for m, v in (("no-backbone", 0.30), ("dlinear", 0.301), ("naive", 0.9)) for s in (0, 1, 2)]
    text = verdict_markdown(cells, "quick")
    assert "**Winner:** no-backbone. **Tied with it:** dlinear." in text


def test_the_pick_is_the_cheapest_row_that_ties_with_the_winner():
    def cells(costs):
        return [{"dataset": "d", "model": m, "horizon": 7, "seed": s, "mse": v + 0.001 * s, "device": "cpu",
                 "precision": "32", "trainable_parameters": costs[m], "seconds_total": 2,
                 "config": {"model": {"model": m}, "train": {"seed": s}}}
                for m, v in (("no-backbone", 0.30), ("dlinear", 0.301), ("naive", 0.9)) for s in (0, 1, 2)]

    assert pick_configs(cells({"no-backbone": 500, "dlinear": 50, "naive": 0}))["d"] == (
        "dlinear", 0, {"model": {"model": "dlinear"}, "train": {"seed": 0}})  # naive is cheaper but does not tie
    assert pick_configs(cells({"no-backbone": 50, "dlinear": 500, "naive": 0}))["d"][0] == "no-backbone"
    text = verdict_markdown(cells({"no-backbone": 500, "dlinear": 50, "naive": 0}), "quick",
                            {"d": Path("out/picks/d.yaml")})
    assert "**Train the pick** (dlinear, the cheapest row that ties with the winner): `tsreprog train --config " \
           "out/picks/d.yaml --output-dir runs/d`." in text
    # two backbone depths train the same head but a forecast runs every block: the pick counts frozen weights too,
    # as select does, and falls back to trainable weights where a cell predates recording them
    def deep(heavier):
        return [{**c, "parameters": 22_000_000 if c["model"] == heavier else 7_000_000}
                for c in cells({"no-backbone": 50, "dlinear": 50, "naive": 0})]

    assert pick_configs(deep("no-backbone"))["d"][0] == "dlinear"
    assert pick_configs(deep("dlinear"))["d"][0] == "no-backbone"
    assert "| 50 | 7,000,000 |" in verdict_markdown(deep("dlinear"), "standard")
    unrecorded = [{k: v for k, v in c.items() if k != "parameters" or c["model"] != "no-backbone"}
                  for c in deep("no-backbone")]
    assert pick_configs(unrecorded)["d"][0] == "no-backbone"  # trainable weights decide (a tie at 50), then the mean
    assert "**Budget:**" in text and "**Budget:**" not in verdict_markdown(cells({"no-backbone": 1, "dlinear": 1,
                                                                                   "naive": 0}), "standard")


@pytest.mark.parametrize("text, message", [
    ("date,x\n2020-01-01,1\n", "1 rows; at least 120 are needed"),
    ("date,x\n2020-01-01,a\n2020-01-02,b\n", "column 'x' line 2: non-numeric value 'a'"),
])
def test_a_csv_bench_cannot_use_is_one_line_and_leaves_no_folder(tmp_path, capsys, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    out = tmp_path / "bench"
    assert main(["bench", "--datasets", str(path), "--models", "dlinear", "--output-dir", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert not out.exists()


def test_a_pick_file_bench_did_not_write_is_kept(tmp_path):
    from tsreprog.bench.report import check_report_files
    from tsreprog.errors import TsreprogError

    mine = tmp_path / "picks" / "d.yaml"
    mine.parent.mkdir()
    mine.write_text("notes: mine\n")
    with pytest.raises(TsreprogError, match="already exists"):
        check_report_files(tmp_path)
    mine.write_text("model: {}\ntrain: {}\n")  # what bench writes there: replaced without asking
    check_report_files(tmp_path)


def test_a_table_is_sized_as_select_sizes_it(tmp_path):
    """bench and select share one sizing path: registered data keep their standard window, a CSV its own."""
    from tsreprog.bench.runner import table_window
    from tsreprog.data.sizing import sized_window

    assert table_window("ETTh1") == (512, [96, 192, 336, 720])
    assert table_window("national_illness") == (104, [24, 36, 48, 60])
    assert table_window("ETTh1", 336, [192]) == (336, [192])
    path = tmp_path / "short.csv"
    synthetic_frame(400, 2).to_csv(path, index=False)
    lookback, horizons = table_window(str(path))
    assert (lookback, horizons) == (96, [14]) and (lookback, horizons[0]) == sized_window(str(path))
    assert table_window(str(path), 48, [7, 14]) == (48, [7, 14])
