"""Rank candidate backbones × layer counts by their NTK on the target data, before any training.

Score (lower is better): the validation MSE of kernel ridge regression with the candidate's NTK — the error of the
linearised reprogrammed model trained to convergence on ``n_train`` training windows and evaluated on ``n_val``
validation windows. It folds in what the spectrum says (large λ along the target directions fit fast, a flat
spectrum over noise directions overfits) and is directly on the scale of the quantity we care about.
All other spectral figures are reported beside it so that their predictive power can be compared, among them
``gd_val_mse``: the same linearised model after the training budget's number of gradient-descent steps at a stable
step (1/λ_max) instead of at convergence. Measured on ETTh1/ETTm1 it is flat across candidates (every kernel has
effective rank ≈ 1, so a stable step moves only the dominant direction in 120 steps): kernel gradient descent does
not describe how Adam trains these models, which is one reason neither figure ranks them. Hence ``adam_val_mse``:
the linearised model after the budget's steps at the training run's own learning-rate schedule, under the kernel of
an optimiser that normalises each parameter tensor's step as Adam does (:func:`~tsreprog.ntk.spectrum.adam_kernel`):
the kernel's scale no longer sets the speed, each tensor's size and its alignment with the residual do.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from tsreprog.data.splits import PreparedData
from tsreprog.models import ModelConfig, build_model
from tsreprog.ntk.kernel import empirical_ntk
from tsreprog.ntk.steps import new_optimizer, train_steps
from tsreprog.ntk.spectrum import (adam_kernel, centre_kernel, centred_kernel_regression_mse, eigenvalues,
                                   gradient_descent_mse, kernel_regression_mse, kernel_target_alignment,
                                   scheduled_descent_mse, spectrum_report)
from tsreprog.train.module import learning_rates


@dataclass
class Candidate:
    backbone: str
    n_layers: int | None
    # settings of this candidate's own model (name, value) pairs, e.g. the no-backbone ablation's PatchTST shape
    # in a study whose targets were trained in that shape
    settings: tuple = ()

    @property
    def label(self) -> str:
        if self.backbone == NO_BACKBONE:
            return NO_BACKBONE
        # a backbone candidate's own settings (a prompt form, say) tell it apart from the same backbone and depth
        own = "".join(f" {name}={value}" for name, value in self.settings)
        return f"{self.backbone}×{self.n_layers if self.n_layers else 'all'}{own}"


NO_BACKBONE = "none"  # the no-backbone ablation as a candidate: patches -> one transformer layer -> head


def candidate_config(candidate: Candidate, base: ModelConfig, **changes) -> ModelConfig:
    """The model a candidate stands for: the reprogrammed ``base`` on the candidate's backbone and depth, or, for
    ``none``, the no-backbone ablation with the same look-back, horizon, patches and seed."""
    if candidate.backbone == NO_BACKBONE:
        values = dict(model="patchtst", n_layers=1, lookback=base.lookback, horizon=base.horizon,
                      patch_len=base.patch_len, patch_stride=base.patch_stride, d_model=base.d_model,
                      n_heads=base.n_heads, seed=base.seed)
    else:
        values = {**base.to_dict(), "backbone": candidate.backbone, "n_layers": candidate.n_layers}
    return ModelConfig(**{**values, **dict(candidate.settings), **changes})


@dataclass
class CandidateScore:
    candidate: Candidate
    score: float
    figures: dict
    eigenvalues: list[float] = field(default_factory=list)
    seconds: float = 0.0


def sample_windows(data: PreparedData, split: str, lookback: int, horizon: int, n: int, seed: int,
                   fraction: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` univariate windows spread over the split (seeded), as (n, L, 1) inputs and (n, H, 1) targets;
    ``fraction`` < 1: from the first share of the training windows only, as few-shot training sees them."""
    windows = data.windows(split, lookback, horizon, fraction=fraction)
    generator = torch.Generator().manual_seed(seed)
    index = torch.randperm(len(windows), generator=generator)[:n].sort().values
    xs, ys = zip(*(windows[int(i)] for i in index))
    return torch.stack(xs), torch.stack(ys)


@dataclass
class SelectionWindows:
    """The windows a selection scores candidates on: kernel rows ``x``/``y`` (the first ``n_train`` training, the
    rest validation) and the training ``pool`` the warm-up and halving draw their batches from."""
    x: torch.Tensor
    y: torch.Tensor
    n_train: int
    pool: tuple[torch.Tensor, torch.Tensor]

    @property
    def val(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[self.n_train:], self.y[self.n_train:]


def selection_windows(data: PreparedData, lookback: int, horizon: int, n_train: int, n_val: int, n_pool: int,
                      seed: int = 0, train_fraction: float = 1.0) -> SelectionWindows:
    """Training, validation and pool windows drawn with seeds ``seed``, ``seed + 1`` and ``seed + 2``: `select`, its
    studies and its benchmarks score on the same windows for the same seed. With ``train_fraction`` < 1 the
    training and pool windows come from the training windows a few-shot run keeps, so a selection for little data
    sees no more of it than the candidates will."""
    x_train, y_train = sample_windows(data, "train", lookback, horizon, n_train, seed, train_fraction)
    x_val, y_val = sample_windows(data, "val", lookback, horizon, n_val, seed + 1)
    pool = sample_windows(data, "train", lookback, horizon, n_pool, seed + 2, train_fraction)
    return SelectionWindows(torch.cat([x_train, x_val]), torch.cat([y_train, y_val]), len(x_train), pool)


def centred_figures(kernel: torch.Tensor, outputs: torch.Tensor, y: torch.Tensor, n_train: int, ridge: float,
                    residual: torch.Tensor) -> dict:
    """The same figures on the kernel with its common mode removed (:func:`~tsreprog.ntk.spectrum.centre_kernel`);
    ``residual``: training targets minus the initial outputs."""
    centred = centre_kernel(kernel, n_train)
    report = spectrum_report(eigenvalues(centred[:n_train, :n_train]))
    return {"centred_lambda_max": report.lambda_max, "centred_effective_rank": report.effective_rank,
            "centred_decay": report.decay,
            "centred_kernel_target_alignment": kernel_target_alignment(centred[:n_train, :n_train], residual),
            "centred_krr_val_mse": centred_kernel_regression_mse(kernel, outputs, y, n_train, ridge, centred)}


def window_errors(outputs: torch.Tensor, y: torch.Tensor, n_train: int) -> list[float]:
    """Each validation window's own MSE (rows after the first ``n_train``), for the tie test (ntk.ties)."""
    diff = outputs[n_train:].reshape(y[n_train:].shape) - y[n_train:]
    return (diff ** 2).reshape(len(diff), -1).mean(dim=1).tolist()


def validation_mse(outputs: torch.Tensor, y: torch.Tensor, n_train: int) -> float:
    """The model's own MSE on the validation rows (those after the first ``n_train``)."""
    return float(((outputs[n_train:].reshape(y[n_train:].shape) - y[n_train:]) ** 2).mean())


def kernel_figures(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, n_train: int, mode: str, n_probes: int,
                   ridge: float, seed: int, chunk: int, rates: list[float]) -> tuple[dict, torch.Tensor]:
    """Every figure of ``model``'s empirical NTK on (x, y), the first ``n_train`` rows training, the rest validation;
    ``rates``: the learning rates of the training steps the descent figures model. Returns (figures, eigenvalues)."""
    result = empirical_ntk(model, x, mode=mode, n_probes=n_probes, seed=seed, chunk=chunk, blocks=True)
    # The kernel is computed where the model is (a GPU, say); the N × N algebra below is cheap and runs on the CPU.
    kernel, outputs, y = result.kernel.double().cpu(), result.outputs.cpu(), y.cpu()
    blocks = {name: block.cpu() for name, block in result.block_kernels.items()}
    values = eigenvalues(kernel[:n_train, :n_train])
    residual = y[:n_train] - outputs[:n_train].reshape(y[:n_train].shape)
    figures = {
        **spectrum_report(values).to_dict(),
        "kernel_target_alignment": kernel_target_alignment(kernel[:n_train, :n_train], residual),
        "krr_val_mse": kernel_regression_mse(kernel, outputs, y, n_train, ridge),
        **centred_figures(kernel, outputs, y, n_train, ridge, residual),
        "gd_val_mse": gradient_descent_mse(kernel, outputs, y, n_train, len(rates)),
        "adam_val_mse": scheduled_descent_mse(
            adam_kernel(blocks, result.block_sizes, residual, n_train), outputs, y, n_train, rates),
        "init_val_mse": validation_mse(outputs, y, n_train),
        "trainable_parameters": result.n_parameters,
        "mode": result.mode, "probes": result.n_probes,
    }
    return figures, values


def score_candidate(candidate: Candidate, base: ModelConfig, x: torch.Tensor, y: torch.Tensor, n_train: int,
                    mode: str = "sketch", n_probes: int = 8, ridge: float = 1e-3, seed: int = 0,
                    chunk: int = 16, budget_steps: int = 120, learning_rate: float = 1e-3,
                    schedule: str = "onecycle", warmup_steps: int = 0,
                    warmup_windows: tuple[torch.Tensor, torch.Tensor] | None = None,
                    batch_size: int = 32, warm_kernel: bool = True, init_kernel: bool = True,
                    device: torch.device | str = "cpu") -> CandidateScore:
    """The candidate's figures at initialisation and, with ``warmup_steps``, the same figures (``warm_`` names)
    after that many steps of real training on ``warmup_windows``: early training moves the kernel most, and the
    kernel after it has been reported to predict final accuracy far better (Fort et al., NeurIPS 2020).
    ``warm_kernel=False`` skips the second kernel and keeps only the warmed model's own validation MSE
    (``warm_init_val_mse``, what method warm-val ranks by): the kernel was most of a candidate's cost;
    ``init_kernel=False`` skips the kernel at initialisation too (studies of warm-val alone). The model, its
    windows and its kernel live on ``device``; the figures are computed on the CPU."""
    started = time.perf_counter()
    model = build_model(candidate_config(candidate, base, dropout=0.0)).to(device)
    x, y = x.to(device), y.to(device)
    if warmup_windows is not None:
        warmup_windows = tuple(w.to(device) for w in warmup_windows)
    rates = learning_rates(schedule, learning_rate, budget_steps)
    if init_kernel:
        figures, values = kernel_figures(model, x, y, n_train, mode, n_probes, ridge, seed, chunk, rates)
    else:
        figures, values = {"krr_val_mse": float("nan")}, torch.zeros(0)
    figures["init_seconds"] = time.perf_counter() - started  # the kernel at initialisation alone
    figures["parameters"] = sum(p.numel() for p in model.parameters())  # what a forecast costs, roughly
    if warmup_steps > 0:
        if warmup_windows is None:
            raise ValueError("warmup_steps needs warmup_windows (training windows to warm up on)")
        train_steps(model, new_optimizer(model, learning_rate), *warmup_windows, rates[:warmup_steps], batch_size,
                    torch.Generator().manual_seed(seed))
        if warm_kernel:
            warm, _ = kernel_figures(model, x, y, n_train, mode, n_probes, ridge, seed, chunk, rates[warmup_steps:])
            figures.update({f"warm_{key}": value for key, value in warm.items() if key not in ("mode", "probes")})
        else:
            model.eval()  # as the kernel's own forward passes run
            with torch.inference_mode():
                outputs = model(x).cpu()
                figures["warm_init_val_mse"] = validation_mse(outputs, y.cpu(), n_train)
                figures["warm_val_errors"] = window_errors(outputs, y.cpu(), n_train)
        figures["warmup_steps"] = warmup_steps
    return CandidateScore(candidate, figures["krr_val_mse"], figures, values.tolist(),
                          time.perf_counter() - started)


def plot_spectra(scores: list[CandidateScore], path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tsreprog.io import save_figure

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for s in scores:
        values = torch.tensor(s.eigenvalues)
        values = values[values > 0]
        ax.plot(range(1, len(values) + 1), values.numpy(), label=f"{s.candidate.label} ({s.score:.3f})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("rank")
    ax.set_ylabel("NTK eigenvalue")
    ax.set_title("NTK spectra on target windows (legend: KRR val MSE)")
    ax.legend(fontsize=7)
    save_figure(fig, path, dpi=100)
