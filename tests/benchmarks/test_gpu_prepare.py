"""benchmarks/gpu_prepare.py: the carried folder appears whole or not at all, and never past what a lent machine
takes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import gpu_prepare  # noqa: E402  (a script beside its siblings, not a package module)


def make_data(folder: Path) -> Path:
    folder.mkdir()
    (folder / "ETTh1.csv.gz").write_bytes(b"\x1f\x8b" + b"0" * 1000)
    (folder / "README.md").write_text("not carried")
    return folder


def test_the_folder_holds_the_csvs_and_states_its_size(tmp_path, monkeypatch, capsys):
    data = make_data(tmp_path / "data")
    out = tmp_path / ".gpu"
    monkeypatch.setattr(sys, "argv", ["gpu_prepare.py", "--data-dir", str(data), "--no-minilm", "--output", str(out)])
    gpu_prepare.main()
    assert [p.name for p in (out / "data").iterdir()] == ["ETTh1.csv.gz"]
    assert not out.with_name(".gpu.building").exists()
    assert "MiB; with the tree" in capsys.readouterr().out


def test_past_the_limit_nothing_is_left_and_the_line_says_so(tmp_path, monkeypatch):
    data = make_data(tmp_path / "data")
    out = tmp_path / ".gpu"
    monkeypatch.setattr(gpu_prepare, "LIMIT_MB", 0)
    monkeypatch.setattr(sys, "argv", ["gpu_prepare.py", "--data-dir", str(data), "--no-minilm", "--output", str(out)])
    with pytest.raises(SystemExit, match="over the 0 MiB a lent machine takes"):
        gpu_prepare.main()
    assert not out.exists() and not out.with_name(".gpu.building").exists()


def test_a_missing_data_folder_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["gpu_prepare.py", "--data-dir", str(tmp_path / "nowhere"), "--output",
                                      str(tmp_path / ".gpu")])
    with pytest.raises(SystemExit, match="nowhere: no such folder"):
        gpu_prepare.main()
