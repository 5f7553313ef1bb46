"""Per-sample gradient features: rows of the Jacobian contracted with output probes, computed with torch.func.

For a probe v (a direction in output space) the feature of sample i is φ_i = ∂⟨v, f(x_i; θ)⟩/∂θ, flattened over
the selected parameters. The traced NTK is Σ_v Φ_v Φ_vᵀ over the probes: one-hot probes give it exactly,
Rademacher probes (E[v vᵀ] = I) give an unbiased estimate whose cost grows with the number of probes, not with the
output size. Samples are processed in chunks (vmap inside a chunk) so memory stays bounded.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch.func import vjp, vmap

ParamDict = dict[str, torch.Tensor]
SampleFn = Callable[[ParamDict, torch.Tensor], torch.Tensor]  # (params, one sample) -> output vector


def probe_features(fn: SampleFn, params: ParamDict, xs: torch.Tensor, cotangents: torch.Tensor,
                   transforms: dict[str, Callable[[torch.Tensor], torch.Tensor]] | None = None,
                   chunk: int = 16) -> torch.Tensor:
    """Features (N, K, D) of ⟨cotangent_ik, fn(params, x_i)⟩ for each sample i and probe k.

    ``cotangents`` (N, K, O) holds each sample's K probes (vmapped together with the samples, so a chunk of probes
    costs one batched backward pass); ``transforms`` maps a parameter name to a function applied to its per-sample
    gradient (leading axes batched) before flattening, e.g. multiplication by a Gram root.
    """
    transforms = transforms or {}

    def one(x: torch.Tensor, cotangent: torch.Tensor) -> ParamDict:
        _, pullback = vjp(lambda p: fn(p, x), params)
        return pullback(cotangent)[0]

    batched = vmap(vmap(one, in_dims=(None, 0)), in_dims=(0, 0))
    rows = []
    for start in range(0, xs.shape[0], chunk):
        grads = batched(xs[start:start + chunk], cotangents[start:start + chunk])
        parts = []
        for name in params:
            g = grads[name]
            if name in transforms:
                g = transforms[name](g)
            parts.append(g.reshape(g.shape[0], g.shape[1], -1))
        rows.append(torch.cat(parts, dim=2))
    return torch.cat(rows)


def rademacher(shape: tuple[int, ...], generator: torch.Generator, dtype: torch.dtype) -> torch.Tensor:
    return (torch.randint(0, 2, shape, generator=generator) * 2 - 1).to(dtype)
