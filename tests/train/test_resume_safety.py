"""A resume state is never unpickled: a planted payload and a truncated file are refused with one line; a run killed
before its first checkpoint still refuses --resume under other settings."""

from __future__ import annotations

import pathlib

import pytest
import torch

from tests.train.test_resume import train_args
from tsreprog.cli.main import main
from tsreprog.train.resume import LastState


class Planted:
    """An object whose unpickling would touch a file: what an attacker's last_state.ckpt would carry."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.touch, (self.marker,)


def interrupted_in_first_epoch(csv, out, monkeypatch) -> None:
    original = LastState.on_train_batch_end

    def stop(self, trainer, pl_module, outputs, batch, batch_idx):
        original(self, trainer, pl_module, outputs, batch, batch_idx)
        if self.path.exists():
            raise KeyboardInterrupt

    monkeypatch.setattr(LastState, "on_train_batch_end", stop)
    assert main(train_args(csv, out, "--state-every-steps", "2")) == 130
    monkeypatch.setattr(LastState, "on_train_batch_end", original)
    assert (out / "last_state.ckpt").is_file() and not (out / "model").exists()


def test_planted_pickle_is_refused_and_never_runs(synthetic_csv, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    interrupted_in_first_epoch(synthetic_csv, out, monkeypatch)
    marker = tmp_path / "pwned"
    state = torch.load(out / "last_state.ckpt", weights_only=True)
    state["loops"] = Planted(marker)
    torch.save(state, out / "last_state.ckpt")
    capsys.readouterr()
    assert main(train_args(synthetic_csv, out, "--state-every-steps", "2", "--resume")) == 2
    err = capsys.readouterr().err.strip()
    assert not marker.exists()
    assert len(err.splitlines()) == 1 and "not a resume state this version can load safely" in err


def test_truncated_state_is_one_line(synthetic_csv, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    interrupted_in_first_epoch(synthetic_csv, out, monkeypatch)
    data = (out / "last_state.ckpt").read_bytes()
    (out / "last_state.ckpt").write_bytes(data[: len(data) // 2])
    capsys.readouterr()
    assert main(train_args(synthetic_csv, out, "--state-every-steps", "2", "--resume")) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "last_state.ckpt" in err


@pytest.mark.parametrize("flag, value", [("--learning-rate", "0.01"), ("--batch-size", "4"), ("--horizon", "6")])
def test_resume_before_the_first_checkpoint_refuses_other_settings(synthetic_csv, tmp_path, monkeypatch, capsys,
                                                                   flag, value):
    out = tmp_path / "run"
    interrupted_in_first_epoch(synthetic_csv, out, monkeypatch)
    capsys.readouterr()
    assert main(train_args(synthetic_csv, out, "--state-every-steps", "2", "--resume", flag, value)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--resume with" in err and "was started with" in err
