"""The tie test of select: a paired bootstrap over validation windows groups what it cannot tell apart."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tsreprog.cli.main import main
from tsreprog.ntk.ties import leading_group


def test_clear_gap_is_no_tie_and_noise_is():
    rng = np.random.default_rng(0)
    base = rng.gamma(2.0, 0.5, size=64)  # hard and easy windows, shared by all candidates (paired)
    errors = {"good": base, "same": base + rng.normal(0, 0.01, 64), "bad": base + 0.5}
    result = leading_group(errors, {"good": 100, "same": 10, "bad": 1})
    assert result["leader"] in ("good", "same") and set(result["group"]) == {"good", "same"}
    assert result["pick"] == "same"  # the cheaper of the tied pair
    assert result["as_good_as_leader"]["bad"] == 0.0


def test_windows_must_match():
    with pytest.raises(ValueError, match="same validation windows"):
        leading_group({"a": np.ones(3), "b": np.ones(4)}, {})


def test_select_records_its_tie_group_and_picks_the_cheapest(tmp_path, synthetic_csv, capsys):
    out = tmp_path / "select"
    assert main(["select", "--dataset", str(synthetic_csv), "--backbones", "none,random:bert", "--layers", "1,2",
                 "--lookback", "48", "--horizon", "12", "--n-train", "12", "--n-val", "8", "--warmup-steps", "2",
                 "--batch-size", "8", "--n-pool", "40", "--output-dir", str(out)]) == 0
    report = json.loads((out / "select.json").read_text())
    ties = report["ties"]
    assert ties["group"][0] == report["ranking"][0]["candidate"] and report["pick"] in ties["group"]
    costs = {r["candidate"]: r["parameters"] for r in report["ranking"]}
    assert costs[report["pick"]] == min(costs[c] for c in ties["group"])
    assert "pick:" in capsys.readouterr().out


def test_the_pick_trains_from_the_yaml_select_writes(tmp_path, synthetic_csv, capsys):
    """select's pick is a label ('none', 'random:bert×2'); pick.yaml is what `train --config` needs to train it.
    A user's CSV is read as train reads it (here its own time column), and the pick file says so."""
    import pandas as pd
    import yaml

    synthetic_csv.write_text(pd.read_csv(synthetic_csv).rename(columns={"date": "when"}).to_csv(index=False))
    out = tmp_path / "select"
    assert main(["select", "--dataset", str(synthetic_csv), "--date-column", "when", "--backbones", "none,random:bert",
                 "--layers", "1", "--lookback", "48", "--horizon", "12", "--n-train", "8", "--n-val", "4",
                 "--warmup-steps", "2", "--batch-size", "8", "--n-pool", "24", "--seed", "3",
                 "--output-dir", str(out)]) == 0
    report = json.loads((out / "select.json").read_text())
    assert f"--config {out / 'pick.yaml'}" in capsys.readouterr().err
    pick = yaml.safe_load((out / "pick.yaml").read_text())
    assert pick == report["pick_config"]
    model = pick["model"]
    if report["pick"] == "none":
        assert (model["model"], model["n_layers"]) == ("patchtst", 1)
    else:
        assert (model["backbone"], model["n_layers"]) == ("random:bert", 1)
    assert (model["lookback"], model["horizon"], model["seed"]) == (48, 12, 3)
    assert (pick["train"]["dataset"], pick["train"]["seed"], pick["train"]["date_column"]) == (
        str(synthetic_csv), 3, "when")
    run = tmp_path / "run"
    assert main(["train", "--config", str(out / "pick.yaml"), "--epochs", "1", "--max-steps-per-epoch", "2",
                 "--output-dir", str(run), "--quiet"]) == 0
    assert yaml.safe_load((run / "config.yaml").read_text())["model"] == model


def test_select_with_one_candidate_is_one_line(tmp_path, synthetic_csv, capsys):
    assert main(["select", "--dataset", str(synthetic_csv), "--backbones", "none", "--lookback", "48",
                 "--horizon", "12", "--output-dir", str(tmp_path / "s")]) == 2
    assert "give at least two" in capsys.readouterr().err


def test_select_refuses_an_unknown_backbone_before_scoring_any(tmp_path, synthetic_csv, capsys):
    """The bad name comes last: without the check up front, the two before it would be scored first."""
    assert main(["select", "--dataset", str(synthetic_csv), "--backbones", "none,random:bert,no-such-backbone",
                 "--layers", "1", "--lookback", "48", "--horizon", "12",
                 "--output-dir", str(tmp_path / "s")]) == 2
    captured = capsys.readouterr()
    assert "cannot load backbone 'no-such-backbone' offline" in captured.err
    assert "scoring" not in captured.out and len(captured.err.strip().splitlines()) == 1
    assert not (tmp_path / "s" / "select.json").exists()


def test_select_ranks_adapted_candidates_and_refuses_an_unknown_adaptation(tmp_path, synthetic_csv, capsys):
    common = ["select", "--dataset", str(synthetic_csv), "--backbones", "none,random:bert", "--layers", "1",
              "--lookback", "48", "--horizon", "12", "--n-train", "8", "--n-val", "4", "--warmup-steps", "2",
              "--batch-size", "8", "--n-pool", "24"]
    assert main([*common, "--adapt", "layernorm", "--output-dir", str(tmp_path / "ln")]) == 0
    assert len(json.loads((tmp_path / "ln" / "select.json").read_text())["ranking"]) == 2
    assert main([*common, "--adapt", "full", "--output-dir", str(tmp_path / "bad")]) == 2
    assert "unknown adapt 'full'" in capsys.readouterr().err


def test_select_sizes_a_short_csv_as_bench_does(tmp_path):
    """No look-back or horizon given: a 400-row CSV gets bench's sizing (96 and 14), not 512 and 96, which it
    cannot carry; select.json and pick.yaml record the window that ran."""
    import yaml

    from tests.conftest import synthetic_frame

    path = tmp_path / "short.csv"
    synthetic_frame(400, 2).to_csv(path, index=False)
    out = tmp_path / "select"
    assert main(["select", "--dataset", str(path), "--backbones", "none,random:bert", "--layers", "1",
                 "--n-train", "8", "--n-val", "4", "--warmup-steps", "2", "--batch-size", "8", "--n-pool", "24",
                 "--output-dir", str(out), "--quiet"]) == 0
    settings = json.loads((out / "select.json").read_text())["settings"]
    assert (settings["lookback"], settings["horizon"]) == (96, 14)
    model = yaml.safe_load((out / "pick.yaml").read_text())["model"]
    assert (model["lookback"], model["horizon"]) == (96, 14)
