"""``tsreprog`` command line: train, evaluate, forecast, backbones.

Errors the user can fix print one line (``tsreprog: error: ...``) and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
from pathlib import Path

from tsreprog.cli.options import add_config_flags, build_configs
from tsreprog.io import json_ready, write_json
from tsreprog.errors import TsreprogError
from tsreprog.train.checkpoint import CHECKPOINT_NAME
from tsreprog.train.precision import PRECISIONS

EXIT_USER_ERROR = 2


logger = logging.getLogger("tsreprog")


class _CurrentStderr(logging.StreamHandler):
    """Progress lines to whatever ``sys.stderr`` is when they are written (a test's capture, a redirected stream)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def _setup_logging() -> None:
    """Progress goes through stdlib logging (logger ``tsreprog``): one bare line each on stderr unless the
    application configured the logger itself."""
    if not logger.handlers:
        handler = _CurrentStderr()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def _say(args, message: str) -> None:
    if not getattr(args, "quiet", False):
        logger.info(message)


def cmd_train(args) -> int:
    model_config, train_config = build_configs(args)
    if args.quiet or not sys.stderr.isatty():  # a progress bar in a log file is noise; the epoch lines say it
        train_config.progress = False
    out = Path(args.output_dir or f"runs/{Path(train_config.dataset).stem}-{model_config.model}")
    from tsreprog.train.distributed import is_rank_zero

    if not is_rank_zero():
        return _train_as_helper_rank(args, out, model_config, train_config)
    existed = out.exists()
    try:
        return _train_into(args, out, model_config, train_config)
    except BaseException:
        # a run that failed before its first checkpoint leaves no folder behind that it created itself
        if not existed and out.is_dir() and not any((out / f).exists() for f in (CHECKPOINT_NAME, "last_state.ckpt")):
            shutil.rmtree(out, ignore_errors=True)
        raise


def _train_into(args, out: Path, model_config, train_config) -> int:
    from tsreprog.train.run import train_in_folder

    _say(args, f"training {model_config.model} "
               f"({model_config.backbone if model_config.model == 'reprogrammed' else '-'}) on {train_config.dataset}, "
               f"L={model_config.lookback} H={model_config.horizon} → {out}")
    try:
        result = train_in_folder(out, model_config, train_config, args.overwrite, args.resume,
                                 log=None if args.quiet else lambda m: _say(args, m))
    except KeyboardInterrupt:
        saved = (out / "last_state.ckpt").is_file()
        trained = (out / "trained.json").is_file()
        print("tsreprog: interrupted; " + (f"the last finished epoch is saved in {out / 'last_state.ckpt'}: run the "
              "same command with --resume to continue" if saved else "training had finished: run the same command "
              "with --resume to score it" if trained else "no epoch had finished, nothing to resume"),
              file=sys.stderr)
        return 130
    print(json.dumps(json_ready(result.metrics), indent=2))
    return 0


def _train_as_helper_rank(args, out: Path, model_config, train_config) -> int:
    """A DDP rank other than 0, started by the launcher with the same command: it trains its share and leaves
    every output (and every check of the output folder, which rank 0 has already filled) to rank 0."""
    from tsreprog.train import fit

    fit(model_config, train_config, out / CHECKPOINT_NAME, resume=args.resume)
    return 0


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1 (argparse turns the ValueError into a one-line usage error)."""
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def cmd_evaluate(args) -> int:
    from tsreprog.evaluate.saved import score_saved
    from tsreprog.train.pipeline import ForecastPipeline

    metrics = score_saved(ForecastPipeline.load(args.checkpoint, args.backbone), args.dataset, args.data_dir,
                          args.split, args.stride, args.batch_size, args.precision, args.original_scale)
    if args.output:
        from tsreprog.io import check_writable

        write_json(check_writable(args.output, args.overwrite), metrics)
    print(json.dumps(json_ready(metrics), indent=2))
    return 0


def cmd_forecast(args) -> int:
    from tsreprog.evaluate.forecast import forecast_errors, plot_forecast, write_forecast
    from tsreprog.evaluate.saved import forecast_saved
    from tsreprog.io import check_writable
    from tsreprog.train.pipeline import ForecastPipeline

    pipeline = ForecastPipeline.load(args.checkpoint, args.backbone)
    output = check_writable(args.output, args.overwrite)
    plot = check_writable(args.plot, args.overwrite) if args.plot else None
    result = forecast_saved(pipeline, args.dataset, args.data_dir, args.origin)
    write_forecast(result, output)
    if plot is not None:
        plot_forecast(result, plot)
    summary = {"forecast": str(output), "plot": str(plot) if plot else None,
               "start": str(result.forecast.index[0]), "rows": len(result.forecast)}
    errors = forecast_errors(result, pipeline.scaler)
    if errors:
        summary["errors_against_truth"] = errors
    print(json.dumps(summary, indent=2))
    return 0


def cmd_select(args) -> int:
    from tsreprog.io import check_writable, removed_if_failed, write_config_sections
    from tsreprog.ntk.run import run_selection
    from tsreprog.ntk.settings import SelectConfig

    (settings,) = build_configs(args, {"select": SelectConfig})
    out = Path(args.output_dir)
    with removed_if_failed(out):
        report_path = check_writable(out / "select.json", args.overwrite)
        pick_path = check_writable(out / "pick.yaml", args.overwrite)
        plot_path = None if settings.method == "halving" else check_writable(out / "spectra.png", args.overwrite)
        report = run_selection(settings, plot_path, log=lambda line: _say(args, line))
        write_json(report_path, report)
        write_config_sections(pick_path, **report["pick_config"])
    _say(args, f"wrote {report_path}, {pick_path}" + (f" and {plot_path}" if plot_path else ""))
    _say(args, f"train the pick ({report['pick']}): tsreprog train --config {pick_path} --output-dir runs/pick")
    return 0


def cmd_tune(args) -> int:
    from tsreprog.tune import StudySettings, load_space, summary
    from tsreprog.tune.study import tune_into

    model_config, train_config = build_configs(args)
    train_config.progress = False
    settings = StudySettings(args.storage, args.study_name, args.n_trials, args.pruner, train_config.seed,
                             args.heartbeat)
    _say(args, f"study '{settings.study_name}' in {settings.storage}: {settings.n_trials} finished trials wanted")
    study, written = tune_into(Path(args.output_dir), settings, model_config, train_config,
                               load_space(args.space, model_config.model), args.resume, args.overwrite)
    print(summary(study))
    _say(args, "wrote " + ", ".join(str(p) for p in written.values()))
    return 0


def cmd_bench(args) -> int:
    from tsreprog.bench.settings import BenchConfig

    from tsreprog.io import removed_if_failed

    (settings,) = build_configs(args, {"bench": BenchConfig})
    out = Path(args.output_dir)
    with removed_if_failed(out):
        return _bench_into(args, settings, out)


def _bench_into(args, settings, out: Path) -> int:
    from tsreprog.bench.report import check_report_files, write_report
    from tsreprog.bench.runner import run_bench

    check_report_files(out, args.overwrite)
    if args.report_only:
        from tsreprog.bench.runner import collect

        cells = collect(out)
        if not cells:
            raise TsreprogError(f"no finished cells under {out / 'cells'}: nothing to report")
        profile = _profile_of(cells, out, getattr(args, "profile", None), settings.profile)
    else:
        profile = settings.profile
        cells = run_bench(settings.datasets, settings.models, settings.profile, settings.lookback, settings.horizons,
                          settings.data_dir, out, log=lambda m: _say(args, m),
                          precision=settings.precision, seeds=settings.seeds, seed_horizons=settings.seed_horizons,
                          transfer_to=settings.transfer_to, csv=settings.csv_options())
    written = write_report(cells, out, profile)
    print(written["markdown"].read_text())
    _say(args, f"does the backbone help here, and the command that trains the pick: {written['report']}")
    return 0


def _profile_of(cells: list[dict], out: Path, flag: str | None, default: str) -> str:
    """The profile the finished cells ran under, which their report must state (not the flag's default); a folder
    mixing profiles, or a --profile the cells did not run under, is one line."""
    profiles = sorted({str(c["profile"]) for c in cells if c.get("profile")})
    if len(profiles) > 1:
        raise TsreprogError(f"the cells under {out / 'cells'} ran under several profiles ({', '.join(profiles)}): "
                            "report each profile from its own --output-dir")
    if flag is not None and profiles and flag != profiles[0]:
        raise TsreprogError(f"--profile {flag}: the cells under {out / 'cells'} ran under profile '{profiles[0]}'")
    return profiles[0] if profiles else default


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


def add_checkpoint_source(parser: argparse.ArgumentParser) -> None:
    """Arguments shared by the commands that run a trained checkpoint on a dataset."""
    parser.add_argument("--checkpoint", required=True, help="the saved model folder train wrote (OUTPUT_DIR/model; "
                        "a checkpoint.pt of an earlier version loads too)")
    parser.add_argument("--dataset", help="dataset name or CSV (default: the one it was trained on)")
    parser.add_argument("--data-dir", help="folder of benchmark CSVs")
    parser.add_argument("--backbone", help="refuse the checkpoint unless it was trained with this backbone")


def build_parser() -> argparse.ArgumentParser:
    from tsreprog.bench.settings import BenchConfig
    from tsreprog.models.config import ModelConfig
    from tsreprog.ntk.settings import SelectConfig
    from tsreprog.train.config import TrainConfig

    parser = argparse.ArgumentParser(prog="tsreprog", description="Reprogram frozen transformers into forecasters.")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a forecaster and score it on the test split",
                           description="Train on the train split, early-stop on validation MSE, reload the best "
                                       "weights and score every test window. Writes model/ (weights.safetensors + "
                                       "model.json), config.yaml and "
                                       "metrics.json to --output-dir.")
    train.add_argument("--config", help="YAML file with 'model' and 'train' sections (flags override it)")
    train.add_argument("--output-dir", help="where to write the run (default: runs/<dataset>-<model>)")
    train.add_argument("--overwrite", action="store_true", help="replace an existing run in --output-dir")
    train.add_argument("--resume", action="store_true",
                       help="continue a killed or interrupted run in --output-dir from its last finished epoch")
    train.add_argument("--quiet", action="store_true", help="no progress bars or status lines (for CI)")
    add_config_flags(train, ModelConfig, TrainConfig)
    train.set_defaults(handler=cmd_train)

    evaluate = sub.add_parser("evaluate", help="score a checkpoint on a split",
                              description="MSE/MAE on scaled data (LTSF convention) over every window of a split.")
    add_checkpoint_source(evaluate)
    evaluate.add_argument("--split", default="test", choices=["train", "val", "test"], help="split (default: test)")
    evaluate.add_argument("--stride", type=positive_int, default=1, help="window stride (default 1: every window)")
    evaluate.add_argument("--batch-size", type=positive_int, default=256, help="batch size (default 256)")
    evaluate.add_argument("--precision", default="auto", choices=PRECISIONS,
                          help="auto (default): the precision the run trained and scored in, recorded in the "
                               "checkpoint; 32 or bf16-mixed to override")
    evaluate.add_argument("--original-scale", action="store_true", help="also report metrics on the original scale")
    evaluate.add_argument("--output", help="write the metrics as JSON here")
    evaluate.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    evaluate.set_defaults(handler=cmd_evaluate)

    forecast = sub.add_parser("forecast", help="forecast from a checkpoint, write CSV and plot",
                              description="Forecast H rows from an origin (default: past the end of the data) on the "
                                          "original scale; where the origin lies inside the data, the plot shows "
                                          "the truth too.")
    add_checkpoint_source(forecast)
    forecast.add_argument("--origin", type=int, default=None,
                          help="row of the first forecast step; negative counts from the end (default: end of data)")
    forecast.add_argument("--output", default="forecast.csv", help="forecast CSV (default: forecast.csv)")
    forecast.add_argument("--plot", default=None, help="PNG of history, forecast and truth")
    forecast.add_argument("--overwrite", action="store_true", help="replace existing output files")
    forecast.set_defaults(handler=cmd_forecast)

    select = sub.add_parser("select", help="rank backbones × layer counts (and no backbone) before training",
                            description="Computes each candidate's empirical NTK on target windows and reports its "
                                        "spectrum. Ranks by --method: by default each candidate's own validation "
                                        "MSE after a short warm-up of real training (warm-val); kernel and warm by "
                                        "the validation MSE of kernel regression with the NTK; halving by "
                                        "successive halving. Lower is better. Prints how reliable the method was "
                                        "measured to be. Writes select.json and spectra.png.")
    select.add_argument("--config", help="YAML with a 'select' section (flags override it)")
    add_config_flags(select, SelectConfig)
    select.add_argument("--output-dir", default="runs/select", help="where to write select.json and spectra.png")
    select.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    select.add_argument("--quiet", action="store_true", help="no status lines")
    select.set_defaults(handler=cmd_select)

    tune = sub.add_parser("tune", help="search prompts and hyper-parameters with Optuna (resumable)",
                          description="Each trial trains a short budget (the train settings below) and reports "
                                      "validation MSE every epoch so bad trials are pruned. Several processes with "
                                      "the same --storage and --study-name share one study. Writes best.yaml (runs "
                                      "with `tsreprog train --config`), summary.txt, history.png, importance.png.")
    tune.add_argument("--config", help="YAML with the base 'model' and 'train' sections")
    tune.add_argument("--storage", default="sqlite:///study.db",
                      help="Optuna storage URL: sqlite:///file.db (default) or any SQLAlchemy URL, e.g. "
                           "postgresql://user@host/db")
    tune.add_argument("--study-name", default="tsreprog", help="study name (default tsreprog)")
    tune.add_argument("--n-trials", type=positive_int, default=20, help="finished trials wanted, all workers together")
    tune.add_argument("--resume", action="store_true",
                      help="continue an existing study (also how extra workers join one)")
    tune.add_argument("--space", help="YAML with a 'space:' mapping overriding the default search space")
    tune.add_argument("--pruner", default="median", choices=["median", "hyperband", "none"], help="pruner")
    tune.add_argument("--heartbeat", type=int, default=10,
                      help="seconds between worker heartbeats; a trial silent for two is retried (default 10)")
    tune.add_argument("--output-dir", default="runs/tune", help="where reports go (default runs/tune)")
    tune.add_argument("--overwrite", action="store_true",
                      help="replace reports already in --output-dir (a resumed study updates its own)")
    tune.add_argument("--quiet", action="store_true", help="no status lines")
    add_config_flags(tune, ModelConfig, TrainConfig)
    tune.set_defaults(handler=cmd_tune)

    bench = sub.add_parser("bench", help="the standard long-term protocol: datasets × horizons × models",
                           description="Runs every missing cell (one JSON each under OUTPUT/cells, so an interrupted "
                                       "run resumes), then writes table.md, table.csv, results.json and plots.")
    bench.add_argument("--config", help="YAML with a 'bench' section (flags override it)")
    add_config_flags(bench, BenchConfig)
    bench.add_argument("--output-dir", default="runs/bench", help="where cells, tables and plots go")
    bench.add_argument("--quiet", action="store_true", help="no progress lines")
    bench.add_argument("--overwrite", action="store_true",
                       help="replace a table.md, table.csv or results.json in --output-dir that bench did not write")
    bench.add_argument("--report-only", action="store_true",
                       help="run nothing: write the tables and plots from the cells already finished (a partial "
                            "table marks averages over fewer horizons instead of printing them)")
    bench.set_defaults(handler=cmd_bench)

    backbones = sub.add_parser("backbones", help="list or install backbones",
                               description="list: what loads offline now and what the rest need; install NAME: "
                                           "fetch and convert a backbone once (smollm2-135m).")
    backbones.add_argument("action", choices=["list", "install"], nargs="?", default="list")
    backbones.add_argument("name", nargs="?", default=None, help="backbone to install")
    backbones.add_argument("--overwrite", action="store_true", help="reinstall over an existing copy")
    backbones.set_defaults(handler=cmd_backbones)
    return parser


def main(argv: list[str] | None = None) -> int:
    _setup_logging()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "backbones" and args.action == "install" and not args.name:
        parser.error("backbones install needs a NAME (e.g. smollm2-135m)")
    try:
        return args.handler(args)
    except TsreprogError as exc:
        print(f"tsreprog: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except (PermissionError, IsADirectoryError, NotADirectoryError, FileExistsError) as exc:
        # a file the user pointed at that cannot be written or read as asked: one line, not a traceback
        print(f"tsreprog: error: {exc.filename or ''}: {exc.strerror}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("tsreprog: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
