"""Eigenvalue spectrum of an NTK and the figures reported from it.

The kernel is rank-deficient whenever the trainable parameters are fewer than N·O (and numerically often before),
so λ_min is reported as the smallest eigenvalue above ``floor · λ_max`` and the condition number uses it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Callable

import torch


def lanczos_extremes(matvec: Callable[[torch.Tensor], torch.Tensor], n: int, k: int = 6, iterations: int = 80,
                     seed: int = 0, dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """Smallest and largest ``k`` Ritz values of a symmetric operator given only K·v (matrix-free).

    Lanczos with full re-orthogonalisation: accurate extremes in ``iterations`` ≪ n products, no n × n matrix.
    """
    iterations = min(iterations, n)
    generator = torch.Generator().manual_seed(seed)
    basis = torch.zeros(iterations, n, dtype=dtype)
    v = torch.randn(n, generator=generator, dtype=dtype)
    v = v / v.norm()
    alphas, betas = [], []
    for j in range(iterations):
        basis[j] = v
        w = matvec(v).to(dtype)
        alpha = torch.dot(w, v)
        w = w - alpha * v - (betas[-1] * basis[j - 1] if j > 0 else 0)
        for _ in range(2):  # full re-orthogonalisation, twice ("twice is enough")
            w = w - basis[: j + 1].T @ (basis[: j + 1] @ w)
        alphas.append(alpha)
        beta = w.norm()
        scale = max(abs(float(a)) for a in alphas) + (max(float(b) for b in betas) if betas else 0.0)
        if j == iterations - 1 or float(beta) < 1e-10 * scale:  # invariant subspace found: Ritz values exact
            break
        betas.append(beta)
        v = w / beta
    m = len(alphas)
    tridiagonal = torch.diag(torch.stack(alphas))
    if m > 1:
        off = torch.stack(betas[: m - 1])
        tridiagonal = tridiagonal + torch.diag(off, 1) + torch.diag(off, -1)
    ritz = torch.linalg.eigvalsh(tridiagonal)
    return ritz[:k], ritz[-k:]


@dataclass
class SpectrumReport:
    lambda_max: float
    lambda_min: float  # smallest eigenvalue above floor · λ_max
    condition_number: float
    effective_rank: float  # exp(entropy of λ / Σλ)
    trace: float
    decay: float  # slope of log λ against log rank over the top half of the spectrum above the floor
    numerical_rank: int
    size: int

    def to_dict(self) -> dict:
        return asdict(self)


def eigenvalues(kernel: torch.Tensor, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """All eigenvalues, descending (eigvalsh; symmetrised first)."""
    k = kernel.to(dtype)
    return torch.linalg.eigvalsh(0.5 * (k + k.T)).flip(0)


def spectrum_report(values: torch.Tensor, floor: float = 1e-8) -> SpectrumReport:
    values = values.double()
    top = float(values[0])
    kept = values[values > floor * top]
    p = kept / kept.sum()
    entropy = float(-(p * p.log()).sum())
    ranks = torch.arange(1, len(kept) + 1, dtype=torch.float64)
    half = max(len(kept) // 2, 2)
    if len(kept) >= 2:
        x, y = ranks[:half].log(), kept[:half].log()
        decay = float(((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum())
    else:
        decay = float("nan")
    return SpectrumReport(lambda_max=top, lambda_min=float(kept[-1]), condition_number=top / float(kept[-1]),
                          effective_rank=math.exp(entropy), trace=float(values.sum()), decay=decay,
                          numerical_rank=len(kept), size=len(values))


def kernel_target_alignment(kernel: torch.Tensor, targets: torch.Tensor) -> float:
    """⟨K, YYᵀ⟩ / (‖K‖·‖YYᵀ‖) with Y the (centred) targets: how much of the kernel points at the task."""
    y = targets.reshape(targets.shape[0], -1).double()
    y = y - y.mean(0, keepdim=True)
    target_gram = y @ y.T
    k = kernel.double()
    return float((k * target_gram).sum() / (k.norm() * target_gram.norm()))


def kernel_regression_mse(kernel: torch.Tensor, outputs: torch.Tensor, targets: torch.Tensor, n_train: int,
                          ridge: float = 1e-3) -> float:
    """Validation MSE of the linearised model trained to convergence with this NTK (kernel ridge regression).

    f_val = f0_val + K_vt (K_tt + ρ·mean(diag K_tt)·I)⁻¹ (y_t − f0_t); the first ``n_train`` rows are training
    windows, the rest validation windows. ρ = ``ridge`` is relative to the kernel's scale, so candidates with very
    different kernel magnitudes are regularised alike.
    """
    k = kernel.double()
    f0 = outputs.reshape(outputs.shape[0], -1).double()
    y = targets.reshape(targets.shape[0], -1).double()
    k_tt = k[:n_train, :n_train]
    k_vt = k[n_train:, :n_train]
    jitter = ridge * float(torch.diagonal(k_tt).mean())
    solve = torch.linalg.solve(k_tt + jitter * torch.eye(n_train, dtype=k.dtype), y[:n_train] - f0[:n_train])
    prediction = f0[n_train:] + k_vt @ solve
    return float(((prediction - y[n_train:]) ** 2).mean())


def centre_kernel(kernel: torch.Tensor, n_train: int) -> torch.Tensor:
    """The kernel with the training windows' common mode removed: K_c = (I − 1m̂ᵀ) K (I − m̂1ᵀ), m̂ the mean over
    training windows.

    Reprogrammed kernels are dominated by one direction (effective rank ≈ 1, condition ~1e8). The hypothesis this
    tests: backbone features share a large common component (anisotropy), so every window moves together and λ_max
    says little about the task. Centring with training statistics only is kernel regression with an unpenalised
    intercept. Measured (benchmarks/results/ntk_validity.json): centring removes ~80% of λ_max but the effective rank
    stays ≈ 1.01 and the ranking barely moves, so the common mode is not the whole story."""
    k = kernel.double()
    mean_rows = k[:, :n_train].mean(1, keepdim=True)          # ⟨φ(x_i), m̂⟩
    mean_cols = k[:n_train, :].mean(0, keepdim=True)          # ⟨m̂, φ(x_j)⟩
    mean_all = k[:n_train, :n_train].mean()                   # ⟨m̂, m̂⟩
    return k - mean_rows - mean_cols + mean_all


def centred_kernel_regression_mse(kernel: torch.Tensor, outputs: torch.Tensor, targets: torch.Tensor,
                                  n_train: int, ridge: float = 1e-3, centred: torch.Tensor | None = None) -> float:
    """Validation MSE of kernel ridge regression on the centred kernel, with the residual's training mean as an
    unpenalised intercept (see :func:`centre_kernel`). ``centred``: that kernel, when the caller already has it."""
    f0 = outputs.reshape(outputs.shape[0], -1).double()
    y = targets.reshape(targets.shape[0], -1).double()
    intercept = (y[:n_train] - f0[:n_train]).mean(0, keepdim=True)
    centred = centre_kernel(kernel, n_train) if centred is None else centred
    return kernel_regression_mse(centred, f0 + intercept, y, n_train, ridge)


def gradient_descent_mse(kernel: torch.Tensor, outputs: torch.Tensor, targets: torch.Tensor, n_train: int,
                         steps: int) -> float:
    """Validation MSE of the linearised model after ``steps`` steps of gradient descent at the largest step a
    kernel with this λ_max allows without oscillating (η = 1/λ_max), instead of at convergence.

    Why: :func:`kernel_regression_mse` asks what the linearised model reaches given unlimited training; a fixed
    budget only fits the directions with λ/λ_max ≳ 1/steps (see :func:`scheduled_descent_mse` for the algebra)."""
    k_tt = kernel.double()[:n_train, :n_train]
    step = 1.0 / float(torch.linalg.eigvalsh(0.5 * (k_tt + k_tt.T)).max())
    return scheduled_descent_mse(kernel, outputs, targets, n_train, [step] * steps)


def adam_kernel(block_kernels: dict[str, torch.Tensor], block_sizes: dict[str, int], residual: torch.Tensor,
                n_train: int) -> torch.Tensor:
    """The kernel under which an optimiser that normalises each parameter tensor's step moves the function.

    Why: gradient descent moves f by η·K·r, so a kernel's scale sets the speed — but these models train with Adam,
    whose step has size ≈ η per parameter whatever the gradient's scale. Normalising per tensor (Adam normalises per
    element; per tensor keeps the reprogrammed kernel's structure, so this is an approximation of it) gives
    Δθ_b = −η·√n_b·g_b/‖g_b‖ with g_b = J_bᵀ r, hence Δf = −η·K_A·r with
    K_A = Σ_b K_b·√(n_b / (O·rᵀK_b r)), r the training residual at initialisation (O outputs; the traced kernel
    stands for K_b ⊗ I/O). The normalisation is frozen at r₀, as Adam's second moment (β₂ = 0.999) is over a
    budget of a few hundred steps. A block whose gradient is zero on these windows contributes nothing.
    """
    r = residual.reshape(residual.shape[0], -1)[:n_train].double()
    n_outputs = r.shape[1]
    total = None
    for name, k in block_kernels.items():
        k = k.double()
        energy = float((r * (k[:n_train, :n_train] @ r)).sum())  # = O·‖g_b‖² under the traced approximation
        if energy <= 0.0:
            continue
        part = k * math.sqrt(block_sizes[name] / (n_outputs * energy))
        total = part if total is None else total + part
    if total is None:
        raise ValueError("every parameter block has zero gradient on the training windows")
    return total


def scheduled_descent_mse(kernel: torch.Tensor, outputs: torch.Tensor, targets: torch.Tensor, n_train: int,
                          learning_rates: list[float]) -> float:
    """Validation MSE of the linearised model after one step per entry of ``learning_rates`` (the training run's
    schedule, e.g. one-cycle) under ``kernel`` (e.g. :func:`adam_kernel`): f ← f − η_t·K·(f − y) on the training
    windows, the validation windows moved alike.

    In the eigenbasis of K_tt the residual shrinks by Π_t (1 − η_t λ) and the cumulative update is
    (1 − Π_t (1 − η_t λ))/λ (telescoping). A factor below zero (η_t λ > 1) is clipped to 0: the linear model would
    oscillate and blow up, but Adam's step is bounded by ≈ η per parameter, so that direction is simply fitted."""
    k = kernel.double()
    f0 = outputs.reshape(outputs.shape[0], -1).double()
    y = targets.reshape(targets.shape[0], -1).double()
    k_tt = 0.5 * (k[:n_train, :n_train] + k[:n_train, :n_train].T)
    values, vectors = torch.linalg.eigh(k_tt)
    values = values.clamp_min(0.0)
    rates = torch.tensor(learning_rates, dtype=torch.float64)
    log_survival = torch.log1p(-(rates[:, None] * values[None, :]).clamp_max(1.0)).sum(0)  # log Π_t (1 − η_t λ)
    gain = torch.where(values > 0, -torch.expm1(log_survival) / values.clamp_min(1e-300), rates.sum().expand_as(values))
    update = vectors @ (gain[:, None] * (vectors.T @ (y[:n_train] - f0[:n_train])))
    prediction = f0[n_train:] + k[n_train:, :n_train] @ update
    return float(((prediction - y[n_train:]) ** 2).mean())
