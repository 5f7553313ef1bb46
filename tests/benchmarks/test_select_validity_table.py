"""benchmarks/select_validity.py's README table: figures come from the study file, and a pick is marked "(within)"
only when the 2-sd rule holds against the best candidate's seeds."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import select_validity  # noqa: E402  (a script beside its siblings, not a package module)


def study(per_seed: dict[str, list[float]], picks: dict[str, str]) -> dict:
    methods = {m: {"rho": 0.5, "pick_gap": 0.1, "cost_fraction": 0.02, "pick": picks[m]}
               for m in select_validity.METHODS}
    return {"datasets": {"ETTh1": {"regime": "fewshot10", "methods": methods, "target_details": {
        "test_mse_per_seed": {label: dict(enumerate(values)) for label, values in per_seed.items()}}}}}


def test_within_marks_only_picks_inside_twice_the_larger_sd():
    per_seed = {"none": [0.440, 0.441, 0.439], "close": [0.441, 0.442, 0.440], "far": [0.550, 0.551, 0.549]}
    picks = {"kernel": "close", "warm": "far", "warm-val": "none", "halving": "far"}
    row = select_validity.markdown([study(per_seed, picks)]).splitlines()[2]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[:4] == ["fewshot10 ETTh1", "3", "110.0 sd", "none (0.440)"]
    assert cells[4:8] == ["+0.50 / 10% (within)", "+0.50 / 10%", "+0.50 / 10% (within)", "+0.50 / 10%"]
    assert cells[8] == "2.0% / 2.0% / 2.0%"


def test_the_readme_shows_the_committed_studies_as_rendered_now():
    studies = [json.loads((select_validity.RESULTS / name).read_text()) for name in select_validity.STUDIES]
    table = select_validity.markdown(studies)
    assert len(table.splitlines()) == 2 + sum(len(s["datasets"]) for s in studies)
    readme = (select_validity.RESULTS.parent / "README.md").read_text()
    assert table in readme, "run: python benchmarks/select_validity.py --write benchmarks/README.md"
