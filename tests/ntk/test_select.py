import json

from tsreprog.cli.main import main
from tsreprog.models import ModelConfig, build_model
from tsreprog.ntk.kernel import vmap_friendly_attention


def test_select_ranks_candidates_and_writes_outputs(tmp_path, synthetic_csv, capsys):
    out = tmp_path / "select"
    code = main(["select", "--dataset", str(synthetic_csv), "--backbones", "random:bert,random:llama",
                 "--layers", "1,2,3", "--lookback", "48", "--horizon", "12", "--n-train", "12", "--n-val", "6",
                 "--probes", "2", "--n-prototypes", "20", "--output-dir", str(out), "--quiet"])
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


def test_attention_switch_is_restored():
    model = build_model(ModelConfig(backbone="random:gpt2", lookback=48, horizon=12, patch_len=8, patch_stride=4,
                                    d_model=16, n_heads=4, n_prototypes=20))
    before = model.backbone.model.config._attn_implementation
    with vmap_friendly_attention(model):
        assert model.reprogramming.math_attention
        assert model.backbone.model.config._attn_implementation == "eager"
    assert not model.reprogramming.math_attention
    assert model.backbone.model.config._attn_implementation == before
