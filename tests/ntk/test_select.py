import json
import re

import pytest
import torch

from tsreprog.cli.main import main
from tsreprog.models import ModelConfig, build_model
from tsreprog.ntk import empirical_ntk
from tsreprog.ntk.kernel import vmap_friendly_attention


def test_select_ranks_candidates_and_writes_outputs(tmp_path, synthetic_csv, capsys):
    out = tmp_path / "select"
    code = main(["select", "--dataset", str(synthetic_csv), "--backbones", "random:bert,random:llama",
                 "--layers", "1,2,3", "--lookback", "48", "--horizon", "12", "--n-train", "12", "--n-val", "6",
                 "--probes", "2", "--n-prototypes", "20", "--method", "kernel", "--output-dir", str(out), "--quiet"])
    assert code == 0
    report = json.loads((out / "select.json").read_text())
    ranking = report["ranking"]
    assert [r["rank"] for r in ranking] == [1, 2, 3, 4]
    assert [r["score"] for r in ranking] == sorted(r["score"] for r in ranking)
    for row in ranking:
        assert row["lambda_max"] >= row["lambda_min"] > 0 and row["condition_number"] >= 1
        assert -1 <= row["kernel_target_alignment"] <= 1
    assert len(report["skipped"]) == 2  # 3 layers do not exist in the 2-block tiny configs
    assert (out / "spectra.png").read_bytes()[:4] == b"\x89PNG"
    printed = capsys.readouterr().out
    assert "rank" in printed and "random:bert×1" in printed
    assert report["device"] == ("cpu" if not torch.cuda.is_available() else torch.cuda.get_device_name(0))


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_select_on_a_gpu_where_none_is_is_one_line_before_any_scoring(tmp_path, synthetic_csv, capsys):
    code = main(["select", "--dataset", str(synthetic_csv), "--backbones", "none,random:bert", "--layers", "1",
                 "--lookback", "48", "--horizon", "12", "--accelerator", "gpu", "--output-dir", str(tmp_path / "s")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == [err[0]] and "accelerator gpu: PyTorch sees no GPU" in err[0]
    assert not (tmp_path / "s" / "select.json").exists()


def test_attention_switch_is_restored():
    """The kernel's math backend covers HF's SDPA attention (GPT-2 here) without a per-sample fallback, and does not
    outlive the kernel: training keeps SDPA's fused kernels."""
    import warnings

    model = build_model(ModelConfig(backbone="random:gpt2", lookback=48, horizon=12, patch_len=8, patch_stride=4,
                                    d_model=16, n_heads=4, n_prototypes=20))
    with vmap_friendly_attention():
        assert not torch.backends.cuda.flash_sdp_enabled() and torch.backends.cuda.math_sdp_enabled()
    assert torch.backends.cuda.flash_sdp_enabled()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        empirical_ntk(model, torch.randn(3, 48, 1))
    assert not [w for w in caught if "batching rule" in str(w.message)]
    assert torch.backends.cuda.flash_sdp_enabled()


SELECT_TINY = ["--backbones", "random:bert,random:llama", "--layers", "1,2,3", "--lookback", "48", "--horizon",
               "12", "--n-train", "12", "--n-val", "6", "--probes", "2", "--n-prototypes", "20", "--quiet",
               "--budget-steps", "12", "--batch-size", "8", "--n-pool", "40"]


def test_warm_method_ranks_by_the_kernel_after_real_training(tmp_path, synthetic_csv, capsys):
    out = tmp_path / "warm"
    assert main(["select", "--dataset", str(synthetic_csv), *SELECT_TINY, "--method", "warm", "--warmup-steps", "4",
                 "--output-dir", str(out)]) == 0
    report = json.loads((out / "select.json").read_text())
    assert report["method"] == "warm" and "warm_krr_val_mse" in report["score"]
    ranking = report["ranking"]
    assert [r["score"] for r in ranking] == sorted(r["warm_krr_val_mse"] for r in ranking)
    for row in ranking:  # the kernel moved: training changed the model the figures describe
        assert row["warmup_steps"] == 4 and row["warm_trace"] != row["trace"]
    # the measured reliability is printed in one line, study by study in select.json (figures: results/*.json)
    printed = capsys.readouterr().out
    assert re.search(r"reliability of 'warm', measured in \d+ studies: its pick was the best candidate in \d+, at "
                     r"worst \d+% off; rho [-+]\d\.\d\d to [-+]\d\.\d\d, below the target", printed)
    assert "train the candidates" in printed and "ETTh1 rho" not in printed
    assert re.search(r"reliability of 'warm' \(krr_val_mse after \d+ training steps\): ETTh1 rho -?\d\.\d\d",
                     report["reliability"])


def test_halving_trains_survivors_longer_and_reports_its_cost(tmp_path, synthetic_csv, capsys):
    out = tmp_path / "halving"
    assert main(["select", "--dataset", str(synthetic_csv), *SELECT_TINY, "--method", "halving",
                 "--first-rung-steps", "3", "--output-dir", str(out)]) == 0
    report = json.loads((out / "select.json").read_text())
    ranking, rungs = report["ranking"], report["rungs"]
    assert [r["steps"] for r in rungs] == [3, 6]  # 4 candidates: 4 -> 2 -> 1
    assert ranking[0]["eliminated_at_rung"] is None and ranking[0]["steps"] == 6
    assert sorted(r["steps"] for r in ranking) == [3, 3, 6, 6]
    assert report["cost_fraction_steps"] == (3 + 3 + 6 + 6) / (4 * 12)
    assert len(report["skipped"]) == 2 and not (out / "spectra.png").exists()
    assert "cost: 38% of the steps" in capsys.readouterr().out
    # halving has no tie test: its pick is the survivor, and pick.yaml trains that one
    assert report["pick"] == ranking[0]["candidate"] and (out / "pick.yaml").is_file()


def test_every_method_states_its_measured_reliability():
    from tsreprog.ntk.reliability import reliability_line
    from tsreprog.ntk.settings import METHODS

    from tsreprog.ntk.reliability import MEASURED

    for method in METHODS:
        line = reliability_line(method)
        assert "ETTh1 rho" in line and "ETTm1 rho" in line and "ETTh2 converged rho" in line
        assert "ETTm1 10% rho" in line  # the few-shot study, where candidates really differ
        # only a method whose pick was right in every study may say so; none reaches the rho target
        right_everywhere = all(s["pick_gap"] == 0 for s in MEASURED[method]["studies"].values())
        assert ("trust the first place" in line) == right_everywhere
        assert "below the target" in line or "no rho reaches the target" in line
    assert "not measured yet" in reliability_line("something-new")


def test_the_few_shot_reliability_figures_are_the_committed_study():
    """What select prints for the 10% regime must be what results/select_validity_fewshot10.json measured."""
    from pathlib import Path

    from tsreprog.ntk.reliability import MEASURED

    study = json.loads((Path(__file__).resolve().parents[2] / "benchmarks" / "results" /
                        "select_validity_fewshot10.json").read_text())
    for dataset, measured in study["datasets"].items():
        for method in ("kernel", "warm", "halving"):
            said = MEASURED[method]["studies"][f"{dataset} 10%"]
            assert said["rho"] == pytest.approx(measured["methods"][method]["rho"], abs=0.005)
            assert said["pick_gap"] == pytest.approx(measured["methods"][method]["pick_gap"], abs=0.0005)
    wider = json.loads((Path(__file__).resolve().parents[2] / "benchmarks" / "results" /
                        "select_validity_fewshot10_candidates.json").read_text())["datasets"]
    assert "ETTh1" in wider
    for dataset, study in wider.items():
        count = len(study["candidates"])
        assert count >= 10  # the floor for a set of candidates that differ in kind
        for method, measured in study["methods"].items():
            said = MEASURED[method]["studies"][f"{dataset} 10%, {count} candidates"]
            assert said["rho"] == pytest.approx(measured["rho"], abs=0.005)
            assert said["pick_gap"] == pytest.approx(measured["pick_gap"], abs=0.0005)
            assert said["cost_fraction"] == pytest.approx(measured["cost_fraction"], abs=0.0005)


def test_the_budget_line_is_the_committed_learning_curve_replay():
    """The epochs and cost select quotes for a trustworthy pick must be what results/select_curves.json replayed."""
    from pathlib import Path

    from tsreprog.ntk.reliability import CURVES, budget_line

    sets = json.loads((Path(__file__).resolve().parents[2] / "benchmarks" / "results" /
                       "select_curves.json").read_text())["sets"].values()
    # a set whose candidates tie (any pick is within the spread) prices nothing
    first = [s["first_epochs_within_spread_every_seed"] for s in sets if s["candidates_differ"]]
    assert len(first) >= 4
    assert all(row is not None for row in first)  # the line says every set got there
    assert CURVES["epochs"] == (min(r["epochs"] for r in first), max(r["epochs"] for r in first))
    low, high = (min(r["cost_fraction"] for r in first), max(r["cost_fraction"] for r in first))
    assert CURVES["cost_fraction"] == pytest.approx((low, high), abs=0.005)
    assert "train the candidates" in budget_line()


@pytest.mark.filterwarnings("error:There is a performance drop:UserWarning")  # its attention under vmap
def test_the_no_backbone_ablation_is_a_candidate_of_every_method(tmp_path, synthetic_csv):
    tiny = [a for a in SELECT_TINY]
    tiny[tiny.index("--backbones") + 1] = "none,random:bert"
    tiny[tiny.index("--layers") + 1] = "1,2"
    for method in ("kernel", "halving"):
        out = tmp_path / method
        assert main(["select", "--dataset", str(synthetic_csv), *tiny, "--method", method, "--first-rung-steps",
                     "3", "--output-dir", str(out)]) == 0
        labels = [row["candidate"] for row in json.loads((out / "select.json").read_text())["ranking"]]
        assert sorted(labels) == ["none", "random:bert×1", "random:bert×2"]  # one no-backbone candidate


def test_a_candidate_carries_its_own_settings():
    """A study whose no-backbone target was trained in PatchTST's small shape must build that shape, not the base's."""
    from tsreprog.models import ModelConfig
    from tsreprog.ntk.select import NO_BACKBONE, Candidate, candidate_config

    base = ModelConfig(lookback=48, horizon=12, d_model=32, n_heads=8)
    small = candidate_config(Candidate(NO_BACKBONE, None, (("d_model", 16), ("n_heads", 4))), base)
    assert (small.model, small.d_model, small.n_heads) == ("patchtst", 16, 4)
    assert candidate_config(Candidate(NO_BACKBONE, None), base).d_model == 32
    reprog = candidate_config(Candidate("random:bert", 2), base)
    assert (reprog.backbone, reprog.n_layers, reprog.d_model) == ("random:bert", 2, 32)


def test_warm_val_is_the_default_and_ranks_by_the_warmed_models_own_validation_error(tmp_path, synthetic_csv,
                                                                                       capsys):
    out = tmp_path / "warm-val"
    assert main(["select", "--dataset", str(synthetic_csv), *SELECT_TINY, "--warmup-steps", "4",
                 "--output-dir", str(out)]) == 0  # no --method: the default
    report = json.loads((out / "select.json").read_text())
    assert report["method"] == "warm-val" and "own validation MSE after 4" in report["score"]
    ranking = report["ranking"]
    assert [r["score"] for r in ranking] == sorted(r["warm_init_val_mse"] for r in ranking)
    assert all(r["warm_init_val_mse"] != r["init_val_mse"] for r in ranking)  # the warm-up changed every model
    assert "reliability of 'warm-val'" in capsys.readouterr().out


def test_a_candidate_with_its_own_prompt_is_named_apart():
    """A study holding the same backbone and depth with two prompt forms must not merge them under one label."""
    from tsreprog.ntk.select import NO_BACKBONE, Candidate

    assert Candidate("minilm-l6", 2).label == "minilm-l6×2"
    assert Candidate("minilm-l6", 2, (("prompt", "compact"),)).label == "minilm-l6×2 prompt=compact"
    assert Candidate(NO_BACKBONE, None, (("d_model", 16),)).label == "none"  # its shape is not a choice to name


def test_warm_val_without_the_second_kernel_gives_the_same_figure():
    """warm-val skips the warmed kernel; the warmed model's own validation MSE must not change with it."""
    import torch

    from tsreprog.models import ModelConfig
    from tsreprog.ntk.select import Candidate, score_candidate

    torch.manual_seed(0)
    x, y = torch.randn(10, 48, 1), torch.randn(10, 12, 1)
    pool = (torch.randn(24, 48, 1), torch.randn(24, 12, 1))
    base = ModelConfig(lookback=48, horizon=12, patch_len=8, patch_stride=4, d_model=16, n_heads=4, n_prototypes=20)
    common = dict(mode="sketch", n_probes=2, budget_steps=8, warmup_steps=3, warmup_windows=pool, batch_size=8)
    full = score_candidate(Candidate("random:bert", 1), base, x, y, 6, **common)
    lean = score_candidate(Candidate("random:bert", 1), base, x, y, 6, warm_kernel=False, **common)
    assert abs(full.figures["warm_init_val_mse"] - lean.figures["warm_init_val_mse"]) < 1e-5
    assert full.figures["warm_init_val_mse"] != full.figures["init_val_mse"]
    assert "warm_krr_val_mse" in full.figures and "warm_krr_val_mse" not in lean.figures


def test_a_few_shot_selection_draws_its_training_windows_from_the_kept_share_only(synthetic_csv):
    """Before, select for a 10% run warmed up on windows from the whole training split: ten times the data."""
    from tsreprog.data import prepare
    from tsreprog.data.protocol import few_shot_end
    from tsreprog.ntk.select import selection_windows

    data = prepare(str(synthetic_csv), 48, 12)
    kept = data.windows("train", 48, 12, fraction=0.25)
    allowed = {tuple(kept[i][0][:, 0].tolist()) for i in range(len(kept))}
    windows = selection_windows(data, 48, 12, 8, 4, 32, seed=0, train_fraction=0.25)
    assert {tuple(row[:, 0].tolist()) for row in windows.x[:8]} <= allowed
    assert {tuple(row[:, 0].tolist()) for row in windows.pool[0]} <= allowed
    whole = selection_windows(data, 48, 12, 8, 4, 32, seed=0)
    assert not {tuple(row[:, 0].tolist()) for row in whole.pool[0]} <= allowed
    assert few_shot_end(0, data.borders.train[1], 48, 0.25) < data.borders.train[1]
