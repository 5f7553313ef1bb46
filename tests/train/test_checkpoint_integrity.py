import struct

import pytest
import torch

from tsreprog.errors import ConfigError
from tsreprog.train.checkpoint import load_checkpoint, save_checkpoint


def test_a_flipped_byte_in_the_weights_is_found_on_load(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, {"model_config": {"lookback": 48}, "trainable_state": {"w": torch.arange(1000.0)}})
    assert load_checkpoint(path)["trainable_state"]["w"][500] == 500.0
    data = bytearray(path.read_bytes())
    data[data.find(struct.pack("<f", 500.0))] ^= 0xFF  # before: this loaded silently with a wrong weight
    path.write_bytes(bytes(data))
    with pytest.raises(ConfigError, match="checkpoint is corrupted"):
        load_checkpoint(path)


def test_outputs_get_the_usual_file_permissions(tmp_path):
    import os

    from tsreprog.io import atomic_write_bytes

    atomic_write_bytes(tmp_path / "table.md", b"x")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "table.md").stat().st_mode & 0o777 == 0o666 & ~mask  # mkstemp alone gives 0o600
