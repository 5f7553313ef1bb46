"""With the real pretrained MiniLM (shipped by a PyPI package, no network): training reduces the loss on ETTh1 and
the CLI writes a forecast."""

import pandas as pd
import pytest
import torch

from tsreprog.cli.main import main
from tsreprog.data import prepare
from tsreprog.models import ModelConfig, build_model

pytestmark = pytest.mark.integration


def test_minilm_loss_falls_on_etth1():
    torch.manual_seed(0)
    data = prepare("ETTh1", lookback=96, horizon=24)
    windows = data.windows("train", 96, 24, stride=97)
    batch = [windows[i] for i in range(0, 32 * 7, 7)]
    x, y = torch.stack([b[0] for b in batch]), torch.stack([b[1] for b in batch])
    model = build_model(ModelConfig(backbone="minilm-l6", n_layers=2, lookback=96, horizon=24,
                                    description=data.description, n_prototypes=100, dropout=0.0))
    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-3)
    losses = []
    for _ in range(12):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert sum(losses[-3:]) / 3 < 0.8 * sum(losses[:3]) / 3, losses
    assert all(torch.equal(before[k], v) for k, v in model.backbone.state_dict().items())


def test_minilm_cli_train_and_forecast(tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--quiet", "--output-dir", str(out), "--n-layers", "1", "--lookback", "96",
                 "--horizon", "24", "--epochs", "1", "--max-steps-per-epoch", "4", "--train-stride", "50",
                 "--val-stride", "200", "--n-prototypes", "100", "--prompt", "compact"]) == 0
    forecast = tmp_path / "forecast.csv"
    assert main(["forecast", "--checkpoint", str(out / "model"), "--origin", "-24",
                 "--output", str(forecast), "--plot", str(tmp_path / "forecast.png")]) == 0
    frame = pd.read_csv(forecast)
    assert len(frame) == 24 and "OT" in frame.columns
