"""Every command's settings come from its dataclasses: each flag round-trips through the YAML its command reads,
and the precedence is the same everywhere: dataclass default < YAML (--config) < flag."""

from dataclasses import fields

import pytest
import yaml

from tsreprog.bench.settings import BenchConfig
from tsreprog.cli.main import build_parser
from tsreprog.cli.options import build_configs
from tsreprog.io import write_config_sections
from tsreprog.models.config import ModelConfig
from tsreprog.ntk.settings import SelectConfig
from tsreprog.train.config import TrainConfig

COMMANDS = {"train": {"model": ModelConfig, "train": TrainConfig}, "tune": {"model": ModelConfig, "train": TrainConfig},
            "select": {"select": SelectConfig}, "bench": {"bench": BenchConfig}}

# A value other than the default for every field, written as a user types it on the command line.
FLAG_VALUES = {
    "model": "patchtst", "backbone": "random:gpt2", "n_layers": "3", "backbone_dtype": "bfloat16", "lookback": "64",
    "horizon": "12", "patch_len": "8", "patch_stride": "4", "d_model": "16", "n_heads": "2", "d_keys": "4",
    "n_prototypes": "50", "prototype_vocab": "500", "attention_scoring": "dot", "token_scale": "free",
    "head_dim": "8", "dropout": "0.2", "prompt": "compact", "description": "my data", "statistics": "min,max",
    "n_lags": "3", "quantiles": "0.1,0.5,0.9", "seed": "7", "dataset": "ETTh2", "data_dir": "/data",
    "date_column": "when", "columns": "a,b", "drop_duplicate_rows": "true", "batch_size": "16",
    "eval_batch_size": "64", "learning_rate": "0.005", "weight_decay": "0.01", "schedule": "cosine",
    "gradient_clip": "1.5", "epochs": "4", "patience": "2", "train_stride": "2", "val_stride": "3",
    "max_steps_per_epoch": "9", "state_every_steps": "50", "accelerator": "cpu", "devices": "2", "strategy": "ddp",
    "precision": "32", "compile": "true", "num_workers": "1", "progress": "false",
    "backbones": "minilm-l6,random:gpt2", "layers": "1,all", "n_train": "16", "n_val": "8", "mode": "exact",
    "probes": "4", "ridge": "0.01", "datasets": "ETTh1,ETTm1", "models": "dlinear,naive", "horizons": "96,192",
    "profile": "standard", "seeds": "0,1", "seed_horizons": "96", "period": "12", "image_size": "112",
    "method": "halving", "budget_steps": "60", "warmup_steps": "3", "first_rung_steps": "4", "n_pool": "128",
    "visual_prompt": "border", "encoder_style": "paper", "d_ff": "64", "adapt": "lora", "lora_rank": "4",
    "lora_alpha": "8.0", "train_fraction": "0.5", "transfer_to": "ETTh2,ETTm1", "backbone_learning_rate": "0.01",
}
# Each model takes only its own settings (tsreprog.models.registry): the model section's flags are checked once per
# model, each with that model's settings, so that together they cover every field.
MODEL_VARIANTS = ("patchtst", "reprogrammed", "vision-image")


def flag_args(sections: dict, model: str | None = None) -> list[str]:
    from tsreprog.models.registry import MODEL_SETTINGS

    names = set()
    for section, cls in sections.items():
        own = {f.name for f in fields(cls)}
        names |= own & (MODEL_SETTINGS[model] - ({"model"} if model == "reprogrammed" else set())) \
            if section == "model" else own
    args = []
    for name in sorted(names):
        args += [f"--{name.replace('_', '-')}", model if name == "model" else FLAG_VALUES[name]]
    return args


@pytest.mark.parametrize("command", COMMANDS)
def test_every_flag_round_trips_through_the_yaml(command, tmp_path):
    sections = COMMANDS[command]
    missing = {f.name for cls in sections.values() for f in fields(cls)} - set(FLAG_VALUES)
    assert not missing, f"give the new setting(s) a test value: {missing}"
    variants = [flag_args(sections, m) for m in MODEL_VARIANTS] if "model" in sections else [flag_args(sections)]
    covered = {a[2:].replace("-", "_") for argv in variants for a in argv[::2]}
    assert {f.name for cls in sections.values() for f in fields(cls)} <= covered | {"model"}
    for argv in variants:
        args = build_parser().parse_args([command, *argv])
        from_flags = build_configs(args, sections)
        for config in from_flags:  # every flag moved its field off the default
            for f in fields(config):
                if f.name in {a[2:].replace("-", "_") for a in argv[::2]}:
                    assert getattr(config, f.name) != getattr(type(config)(), f.name), f.name
        path = tmp_path / f"{command}.yaml"
        write_config_sections(path, **dict(zip(sections, from_flags)))
        from_yaml = build_configs(build_parser().parse_args([command, "--config", str(path)]), sections)
        assert [c.to_dict() for c in from_yaml] == [c.to_dict() for c in from_flags]


@pytest.mark.parametrize("command", COMMANDS)
def test_defaults_then_yaml_then_flags(command, tmp_path):
    sections = COMMANDS[command]
    section, cls = next(iter(sections.items()))
    key = "lookback" if any(f.name == "lookback" for f in fields(cls)) else "n_train"
    default = getattr(cls(), key)
    other = next(f.name for f in fields(cls) if f.name not in (key, "model", "seed") and FLAG_VALUES.get(f.name))
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({section: {key: 40, other: yaml.safe_load(FLAG_VALUES[other])}}))
    parse = build_parser().parse_args
    assert getattr(build_configs(parse([command]), sections)[0], key) == default
    from_yaml = build_configs(parse([command, "--config", str(path)]), sections)[0]
    assert getattr(from_yaml, key) == 40
    from_both = build_configs(parse([command, "--config", str(path), f"--{key.replace('_', '-')}", "50"]),
                              sections)[0]
    assert getattr(from_both, key) == 50 and getattr(from_both, other) == getattr(from_yaml, other)


def test_every_setting_has_its_own_help_line():
    for sections in COMMANDS.values():
        for cls in sections.values():
            for f in fields(cls):
                text = f.metadata.get("help")  # written beside the field
                assert text and text != f.name, f"{cls.__name__}.{f.name} has no help"


def test_none_is_a_value_of_its_own_for_a_required_text_setting():
    """`--prompt none` (the no-prompt ablation) and `--adapt none` name a choice; only an optional setting reads
    "none" as no value."""
    parse = build_parser().parse_args
    model, _ = build_configs(parse(["train", "--prompt", "none", "--adapt", "none", "--n-layers", "none"]))
    assert (model.prompt, model.adapt, model.n_layers) == ("none", "none", None)
    vision, _ = build_configs(parse(["train", "--model", "vision-image", "--visual-prompt", "none"]))
    assert vision.visual_prompt == "none"
    (select,) = build_configs(parse(["select", "--prompt", "none", "--backbones", "none,minilm-l6"]),
                              {"select": SelectConfig})
    assert select.prompt == "none" and select.backbones == ["none", "minilm-l6"]
    with pytest.raises(SystemExit):  # a required number: argparse's one-line type error
        parse(["train", "--lookback", "none"])
