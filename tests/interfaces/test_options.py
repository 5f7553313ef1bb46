import pytest

from tsreprog.errors import ConfigError
from tsreprog.interfaces.core import INTERFACE_MODEL_DEFAULTS, split_options


def test_language_backbones_get_the_interface_defaults_unless_given():
    model, train = split_options({"learning_rate": 1e-3}, "minilm-l6")
    assert model == INTERFACE_MODEL_DEFAULTS and train == {"learning_rate": 1e-3}
    model, _ = split_options({"prompt": "full"}, "random:gpt2")
    assert model["prompt"] == "full" and model["patch_stride"] == INTERFACE_MODEL_DEFAULTS["patch_stride"]


def test_vision_backbones_and_baselines_keep_the_model_defaults():
    assert split_options({}, "dinov2-small")[0] == {}
    assert split_options({"model": "dlinear"}, "minilm-l6")[0] == {"model": "dlinear"}


def test_unknown_options_are_refused_by_name():
    with pytest.raises(ConfigError, match="unknown option.*nope"):
        split_options({"nope": 1})
