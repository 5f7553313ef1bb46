"""benchmarks/select_preregistered.py: a registration is made only before its set's cells, never replaced, and
judged by the 2-sd rule once every row has three seeds."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import select_preregistered as prereg  # noqa: E402  (a script beside its siblings, not a package module)
from tsreprog.bench.runner import cell_path  # noqa: E402


def registration(kernel_pick: str, warm_pick: str) -> dict:
    scores = {row: {"kernel": float(i), "warm-val": float(-i)} for i, row in enumerate(prereg.ROWS)}
    return {"profile": "fewshot5", "dataset": "ETTm1", "horizon": 96, "scores": scores,
            "candidates": {"kernel": list(prereg.BACKBONE_ROWS), "warm-val": list(prereg.ROWS)},
            "picks": {"kernel": kernel_pick, "warm-val": warm_pick}}


def write_cells(root: Path, means: dict[str, float], seeds=prereg.SEEDS) -> None:
    folder = root / prereg.FOLDERS["fewshot5"]
    for row, mean in means.items():
        for seed in seeds:
            path = cell_path(folder, "ETTm1", row, 96, seed)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"mse": mean + 0.001 * (seed - 1)}))  # sd 0.001


@pytest.fixture
def results(tmp_path, monkeypatch):
    monkeypatch.setattr(prereg, "RESULTS", tmp_path)
    return tmp_path


def test_judge_waits_for_three_seeds_then_applies_the_two_sd_rule(results):
    means = {row: 0.50 for row in prereg.ROWS}
    means.update({"reprog-minilm-compact": 0.400, "reprog-minilm-ln": 0.401, "no-backbone": 0.450})
    write_cells(results, means, seeds=(0, 1))
    assert prereg.judge(registration("reprog-minilm-ln", "no-backbone"))["status"].startswith("waiting for cells")
    write_cells(results, means)
    judged = prereg.judge(registration("reprog-minilm-ln", "no-backbone"))
    kernel, warm = judged["methods"]["kernel"], judged["methods"]["warm-val"]
    assert kernel["best"] == "reprog-minilm-compact" and kernel["held"]  # 0.001 apart, 2 sd = 0.002
    assert warm["pick"] == "no-backbone" and not warm["held"]  # 0.05 behind the best
    assert warm["pick_gap"] == pytest.approx(0.05 / 0.400)


def test_no_registration_replaces_one_or_follows_the_cells(results, monkeypatch):
    output = results / "prereg.json"
    output.write_text(json.dumps({"sets": {"fewshot5 ETTm1 H=96": {"registration": {"registered_at": "then"}}}}))
    monkeypatch.setattr(sys, "argv", ["x", "register", "--output", str(output)])
    with pytest.raises(SystemExit, match="registered already"):
        prereg.main()
    write_cells(results, {"no-backbone": 0.45}, seeds=(0,))
    monkeypatch.setattr(sys, "argv", ["x", "register", "--output", str(results / "new.json")])
    with pytest.raises(SystemExit, match="1 cells exist already"):
        prereg.main()
    assert not (results / "new.json").exists()
