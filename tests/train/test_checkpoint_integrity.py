"""The saved model folder: what it holds, that loading never unpickles, and one line for each way it can be wrong."""

import json
import struct
import warnings

import pytest
import torch

from tsreprog.errors import ConfigError
from tsreprog.train.checkpoint import load_checkpoint, save_checkpoint


def saved(tmp_path):
    path = tmp_path / "model"
    save_checkpoint(path, {"model_config": {"lookback": 48}, "trainable_state": {"w": torch.arange(1000.0),
                                                                                 "steps": torch.tensor(3)}})
    return path


def test_a_flipped_byte_in_the_weights_is_found_on_load(tmp_path):
    path = saved(tmp_path)
    assert load_checkpoint(path)["trainable_state"]["w"][500] == 500.0
    weights = path / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[data.find(struct.pack("<f", 500.0))] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ConfigError, match="weights.safetensors: changed or corrupted since it was saved"):
        load_checkpoint(path)


def test_an_edited_config_a_missing_file_and_a_newer_format_are_one_line(tmp_path):
    path = saved(tmp_path)
    manifest = json.loads((path / "model.json").read_text())
    manifest["model_config"]["lookback"] = 96
    (path / "model.json").write_text(json.dumps(manifest))
    with pytest.raises(ConfigError, match="model.json: changed since it was saved"):
        load_checkpoint(path)
    path = saved(tmp_path / "b")
    (path / "weights.safetensors").unlink()
    with pytest.raises(ConfigError, match=r"not a complete saved model \(weights.safetensors is missing\)"):
        load_checkpoint(path)
    path = saved(tmp_path / "c")
    manifest = json.loads((path / "model.json").read_text())
    manifest["format"] = 99
    (path / "model.json").write_text(json.dumps(manifest))
    with pytest.raises(ConfigError, match=r"written by a newer tsreprog \(format 99"):
        load_checkpoint(path)


def test_a_run_folder_loads_the_saved_model_inside_it(tmp_path):
    """`--checkpoint runs/x` for `runs/x/model`: the run folder train wrote holds one saved model, so it is the one
    meant; a folder with neither stays a one-line error naming it."""
    path = saved(tmp_path)
    assert path.name == "model"
    assert load_checkpoint(tmp_path)["trainable_state"]["steps"] == 3
    (tmp_path / "other").mkdir()
    with pytest.raises(ConfigError, match="other: not a complete saved model"):
        load_checkpoint(tmp_path / "other")


def test_the_folder_holds_safetensors_and_json_only(tmp_path):
    path = saved(tmp_path)
    from safetensors.torch import load_file

    assert set(load_file(str(path / "weights.safetensors"))) == {"w", "steps"}
    assert json.loads((path / "model.json").read_text())["model_config"] == {"lookback": 48}


class Planted:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import pathlib

        return pathlib.Path.touch, (self.marker,)


def test_an_earlier_single_file_checkpoint_loads_with_a_warning_and_a_planted_one_is_refused(tmp_path):
    legacy = tmp_path / "checkpoint.pt"
    torch.save({"format": 1, "model_config": {"lookback": 48}, "trainable_state": {"w": torch.ones(2)}}, legacy)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert torch.equal(load_checkpoint(legacy)["trainable_state"]["w"], torch.ones(2))
    assert any("single-file checkpoint of an earlier tsreprog" in str(w.message) for w in caught)
    marker = tmp_path / "pwned"
    torch.save({"format": 1, "model_config": {}, "trainable_state": {}, "x": Planted(marker)}, legacy)
    with pytest.raises(ConfigError, match="not a tsreprog checkpoint"):
        load_checkpoint(legacy)
    assert not marker.exists()


def test_outputs_get_the_usual_file_permissions(tmp_path):
    import os

    from tsreprog.io import atomic_write_bytes

    atomic_write_bytes(tmp_path / "table.md", b"x")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "table.md").stat().st_mode & 0o777 == 0o666 & ~mask  # mkstemp alone gives 0o600
