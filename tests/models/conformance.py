"""One conformance check every forecaster must pass (reused by each model's tests, like neuralforecast's
``check_model``): shapes, finiteness, batch independence, determinism in eval mode, and — for models with a frozen
backbone — gradients reaching only trainable parameters."""

from __future__ import annotations

import torch

from tsreprog.models.contract import has_quantile_head


def check_forecaster(model: torch.nn.Module, lookback: int, horizon: int, channels: int = 3) -> None:
    torch.manual_seed(0)
    x = torch.randn(4, lookback, channels) * 5 + 2
    model.eval()
    with torch.no_grad():
        y = model(x)
        assert y.shape == (4, horizon, channels), y.shape
        assert torch.isfinite(y).all()
        torch.testing.assert_close(model(x), y)  # deterministic in eval mode
        torch.testing.assert_close(model(x[1:2]), y[1:2], rtol=1e-4, atol=1e-4)  # no leakage across the batch
        x_swapped = x[:, :, [1, 0, 2]] if channels == 3 else x
        if channels == 3:  # channel independence: permuting channels permutes forecasts
            torch.testing.assert_close(model(x_swapped)[:, :, [1, 0, 2]], y, rtol=1e-4, atol=1e-4)
    trainable = [p for p in model.parameters() if p.requires_grad]
    frozen = [p for p in model.parameters() if not p.requires_grad]
    # the contract (tsreprog.models.contract): checkpoints hold exactly what trains: every parameter that requires
    # grad, and the running statistics of the norm layers it trains (BatchNorm in the paper-style PatchTST), nothing
    # of a frozen backbone
    state = set(model.trainable_state_dict())
    parameters = {n for n, p in model.named_parameters() if p.requires_grad}
    assert parameters <= state and all(n.rsplit(".", 1)[-1] in ("running_mean", "running_var", "num_batches_tracked")
                                       for n in state - parameters), state - parameters
    snapshot = model.trainable_state_dict()
    if snapshot:  # a snapshot: an optimizer step (in place) after it must not reach it
        name, param = next((n, p) for n, p in model.named_parameters() if p.requires_grad)
        before = snapshot[name].clone()
        with torch.no_grad():
            param.add_(1.0)
        assert torch.equal(snapshot[name], before), "trainable_state_dict() returned live parameters"
        with torch.no_grad():
            param.sub_(1.0)
    if has_quantile_head(model):
        with torch.no_grad():
            q = model.predict_quantiles(x)
        assert q.shape == (4, horizon, channels, len(model.quantiles)) and bool((q.diff(dim=-1) >= 0).all())
    if not trainable:
        return
    model.train()
    model.zero_grad(set_to_none=True)
    model(x).square().mean().backward()
    assert all(p.grad is not None for p in trainable), "a trainable parameter got no gradient"
    assert all(p.grad is None for p in frozen), "a frozen parameter got a gradient"
    assert sum(float(p.grad.abs().sum()) for p in trainable) > 0
