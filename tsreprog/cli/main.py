"""``tsreprog`` command line: train, evaluate, forecast, backbones.

Errors the user can fix print one line (``tsreprog: error: ...``) and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from tsreprog.cli.options import add_config_flags, build_configs, write_yaml
from tsreprog.errors import TsreprogError

EXIT_USER_ERROR = 2


def _json_ready(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    return value


def write_json(path: Path, payload: dict) -> None:
    from tsreprog.train.checkpoint import atomic_write_bytes

    atomic_write_bytes(path, json.dumps(_json_ready(payload), indent=2).encode())


def _say(args, message: str) -> None:
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr)


def cmd_train(args) -> int:
    from tsreprog.models import ModelConfig
    from tsreprog.train import fit
    from tsreprog.train.checkpoint import check_writable

    model_config, train_config = build_configs(args)
    if args.quiet:
        train_config.progress = False
    out = Path(args.output_dir or f"runs/{Path(train_config.dataset).stem}-{model_config.model}")
    checkpoint = check_writable(out / "checkpoint.pt", args.overwrite)
    _say(args, f"training {model_config.model} ({model_config.backbone if model_config.model == 'reprogrammed' else '-'})"
               f" on {train_config.dataset}, L={model_config.lookback} H={model_config.horizon} → {out}")
    result = fit(model_config, train_config, checkpoint)
    assert isinstance(result.model.config, ModelConfig)
    write_yaml(out / "config.yaml", result.model.config, train_config)
    write_json(out / "metrics.json", {"metrics": result.metrics, "history": result.history})
    print(json.dumps(_json_ready({k: v for k, v in result.metrics.items()}), indent=2))
    return 0


def cmd_evaluate(args) -> int:
    from tsreprog.data.splits import prepare
    from tsreprog.evaluate import evaluate
    from tsreprog.train.restore import restore

    restored = restore(args.checkpoint, args.backbone)
    config, train = restored.model_config, restored.train_config
    dataset = args.dataset or train.dataset
    data = prepare(dataset, config.lookback, config.horizon, args.data_dir or train.data_dir, train.date_column,
                   train.columns)
    _check_columns(data.table.columns, restored.dataset["columns"], data.table.source)
    data.scaler = restored.scaler
    data.scaled = restored.scaler.transform(data.table.values)
    windows = data.windows(args.split, config.lookback, config.horizon, args.stride)
    metrics = evaluate(restored.model, windows, args.batch_size, "cpu", restored.scaler if args.original_scale else None)
    metrics = {"dataset": data.name, "split": args.split, **metrics}
    if args.output:
        from tsreprog.train.checkpoint import check_writable

        write_json(check_writable(args.output, args.overwrite), metrics)
    print(json.dumps(_json_ready(metrics), indent=2))
    return 0


def _check_columns(have: list[str], trained: list[str], source: str) -> None:
    missing = [c for c in trained if c not in have]
    if missing:
        raise TsreprogError(f"{source}: column '{missing[0]}' the model was trained on is missing")


def cmd_forecast(args) -> int:
    from tsreprog.data.splits import load_table
    from tsreprog.evaluate.forecast import forecast_at, forecast_errors, plot_forecast, write_forecast
    from tsreprog.train.checkpoint import check_writable
    from tsreprog.train.restore import restore

    restored = restore(args.checkpoint, args.backbone)
    train = restored.train_config
    output = check_writable(args.output, args.overwrite)
    plot = check_writable(args.plot, args.overwrite) if args.plot else None
    table, _, _, _ = load_table(args.dataset or train.dataset, args.data_dir or train.data_dir, train.date_column,
                                train.columns)
    _check_columns(table.columns, restored.dataset["columns"], table.source)
    table.values = table.values[:, [table.columns.index(c) for c in restored.dataset["columns"]]]
    table.columns = list(restored.dataset["columns"])
    result = forecast_at(restored.model, table, restored.scaler, restored.model_config.lookback,
                         restored.model_config.horizon, args.origin)
    write_forecast(result, output)
    if plot is not None:
        plot_forecast(result, plot)
    summary = {"forecast": str(output), "plot": str(plot) if plot else None,
               "start": str(result.forecast.index[0]), "rows": len(result.forecast)}
    errors = forecast_errors(result, restored.scaler)
    if errors:
        summary["errors_against_truth"] = errors
    print(json.dumps(summary, indent=2))
    return 0


def cmd_backbones(args) -> int:
    from tsreprog.backbones.registry import available_backbones

    if args.action == "install":
        from tsreprog.backbones.install import install

        path = install(args.name, force=args.overwrite)
        print(f"{args.name} installed at {path}")
        return 0
    rows = available_backbones()
    width = max(len(r["name"]) for r in rows)
    for row in rows:
        state = "available" if row["available"] else f"needs: {row['needs']}"
        print(f"{row['name']:<{width}}  {state:<50}  {row['description']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from tsreprog.models.config import ModelConfig
    from tsreprog.train.config import TrainConfig

    parser = argparse.ArgumentParser(prog="tsreprog", description="Reprogram frozen transformers into forecasters.")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a forecaster and score it on the test split",
                           description="Train on the train split, early-stop on validation MSE, reload the best "
                                       "weights and score every test window. Writes checkpoint.pt, config.yaml and "
                                       "metrics.json to --output-dir.")
    train.add_argument("--config", help="YAML file with 'model' and 'train' sections (flags override it)")
    train.add_argument("--output-dir", help="where to write the run (default: runs/<dataset>-<model>)")
    train.add_argument("--overwrite", action="store_true", help="replace an existing checkpoint")
    train.add_argument("--quiet", action="store_true", help="no progress bars or status lines (for CI)")
    add_config_flags(train, ModelConfig, TrainConfig)
    train.set_defaults(handler=cmd_train)

    evaluate = sub.add_parser("evaluate", help="score a checkpoint on a split",
                              description="MSE/MAE on scaled data (LTSF convention) over every window of a split.")
    evaluate.add_argument("--checkpoint", required=True, help="checkpoint.pt written by train")
    evaluate.add_argument("--dataset", help="dataset name or CSV (default: the one it was trained on)")
    evaluate.add_argument("--data-dir", help="folder of benchmark CSVs")
    evaluate.add_argument("--split", default="test", choices=["train", "val", "test"], help="split (default: test)")
    evaluate.add_argument("--stride", type=int, default=1, help="window stride (default 1: every window)")
    evaluate.add_argument("--batch-size", type=int, default=256, help="batch size (default 256)")
    evaluate.add_argument("--original-scale", action="store_true", help="also report metrics on the original scale")
    evaluate.add_argument("--backbone", help="refuse the checkpoint unless it was trained with this backbone")
    evaluate.add_argument("--output", help="write the metrics as JSON here")
    evaluate.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    evaluate.set_defaults(handler=cmd_evaluate)

    forecast = sub.add_parser("forecast", help="forecast from a checkpoint, write CSV and plot",
                              description="Forecast H rows from an origin (default: past the end of the data) on the "
                                          "original scale; where the origin lies inside the data, the plot shows "
                                          "the truth too.")
    forecast.add_argument("--checkpoint", required=True, help="checkpoint.pt written by train")
    forecast.add_argument("--dataset", help="dataset name or CSV (default: the one it was trained on)")
    forecast.add_argument("--data-dir", help="folder of benchmark CSVs")
    forecast.add_argument("--origin", type=int, default=None,
                          help="row of the first forecast step; negative counts from the end (default: end of data)")
    forecast.add_argument("--output", default="forecast.csv", help="forecast CSV (default: forecast.csv)")
    forecast.add_argument("--plot", default=None, help="PNG of history, forecast and truth")
    forecast.add_argument("--backbone", help="refuse the checkpoint unless it was trained with this backbone")
    forecast.add_argument("--overwrite", action="store_true", help="replace existing output files")
    forecast.set_defaults(handler=cmd_forecast)

    backbones = sub.add_parser("backbones", help="list or install backbones",
                               description="list: what loads offline now and what the rest need; install NAME: "
                                           "fetch and convert a backbone once (smollm2-135m).")
    backbones.add_argument("action", choices=["list", "install"], nargs="?", default="list")
    backbones.add_argument("name", nargs="?", default=None, help="backbone to install")
    backbones.add_argument("--overwrite", action="store_true", help="reinstall over an existing copy")
    backbones.set_defaults(handler=cmd_backbones)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "backbones" and args.action == "install" and not args.name:
        parser.error("backbones install needs a NAME (e.g. smollm2-135m)")
    try:
        return args.handler(args)
    except TsreprogError as exc:
        print(f"tsreprog: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("tsreprog: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
