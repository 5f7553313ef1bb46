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
    budget only fits the directions with λ/λ_max ≳ 1/steps. In the eigenbasis K_tt = U diag(λ) Uᵀ the update
    after t steps is f_v = f0_v + K_vt U diag((1 − (1 − ηλ)ᵗ)/λ) Uᵀ (y_t − f0_t) (→ ηt as λ → 0)."""
    k = kernel.double()
    f0 = outputs.reshape(outputs.shape[0], -1).double()
    y = targets.reshape(targets.shape[0], -1).double()
    k_tt = 0.5 * (k[:n_train, :n_train] + k[:n_train, :n_train].T)
    values, vectors = torch.linalg.eigh(k_tt)
    values = values.clamp_min(0.0)
    step = 1.0 / float(values.max())
    rate = step * values
    gain = torch.where(rate > 1e-12, -torch.expm1(steps * torch.log1p(-rate.clamp_max(1.0 - 1e-15))) /
                       values.clamp_min(1e-300), torch.full_like(values, step * steps))
    update = vectors @ (gain[:, None] * (vectors.T @ (y[:n_train] - f0[:n_train])))
    prediction = f0[n_train:] + k[n_train:, :n_train] @ update
    return float(((prediction - y[n_train:]) ** 2).mean())
