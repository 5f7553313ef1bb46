"""The Adam-like (per-tensor normalised) kernel and the scheduled descent that uses it."""

import torch
from torch import nn

from tsreprog.models import ModelConfig, build_model
from tsreprog.ntk import empirical_ntk
from tsreprog.ntk.spectrum import adam_kernel, scheduled_descent_mse
from tsreprog.train.module import learning_rates

TINY = dict(backbone="random:bert", lookback=48, horizon=6, patch_len=8, patch_stride=4, d_model=16, n_heads=4,
            n_prototypes=20, dropout=0.0)


class TwoBlockLinear(nn.Module):
    """f(x) = A·x[:3] + B·x[3:]: two parameter tensors, three outputs; its traced kernel is exact per output."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(3, 3, bias=False)
        self.b = nn.Linear(4, 3, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.a(x[:, :3]) + self.b(x[:, 3:])


def test_block_kernels_sum_to_the_kernel_and_match_filtered_kernels():
    torch.manual_seed(0)
    model = build_model(ModelConfig(**TINY)).double()
    x = torch.randn(5, 48, 1, dtype=torch.float64)
    result = empirical_ntk(model, x, dtype=torch.float64, blocks=True)
    torch.testing.assert_close(sum(result.block_kernels.values()), empirical_ntk(model, x, dtype=torch.float64).kernel)
    assert sum(result.block_sizes.values()) == result.n_parameters
    for name, prefix in [("prototypes.mix", "prototypes.mix."), ("head.proj", "head.proj."),
                         ("reprogramming.key_value", ("reprogramming.key.", "reprogramming.value."))]:
        alone = empirical_ntk(model, x, dtype=torch.float64, param_filter=lambda n, p, q=prefix: n.startswith(q))
        torch.testing.assert_close(result.block_kernels[name], alone.kernel, rtol=1e-9, atol=1e-9)


def test_scheduled_descent_reproduces_per_tensor_normalised_training_of_a_linear_model():
    torch.manual_seed(1)
    model = TwoBlockLinear().double()
    x = torch.randn(12, 7, dtype=torch.float64)
    y = torch.randn(12, 3, dtype=torch.float64)
    n_train, rates = 8, learning_rates("onecycle", 0.05, 30)
    ntk = empirical_ntk(model, x, dtype=torch.float64, blocks=True)
    residual = y - ntk.outputs
    predicted = scheduled_descent_mse(adam_kernel(ntk.block_kernels, ntk.block_sizes, residual, n_train),
                                      ntk.outputs, y, n_train, rates)

    # Explicit loop: Δθ_b = −η_t·√n_b·g_b(t)/‖g_b(0)‖, g_b = ∂(½‖f − y‖²)/∂θ_b on the training windows.
    params = dict(model.named_parameters())
    first = None
    for rate in rates:
        loss = 0.5 * ((model(x[:n_train]) - y[:n_train]) ** 2).sum()
        grads = torch.autograd.grad(loss, list(params.values()))
        first = first or [g.norm() for g in grads]
        with torch.no_grad():
            for p, g, g0 in zip(params.values(), grads, first):
                p -= rate * p.numel() ** 0.5 * g / g0
    with torch.no_grad():
        trained = float(((model(x[n_train:]) - y[n_train:]) ** 2).mean())
    assert abs(predicted - trained) < 1e-9 * max(1.0, trained)


def test_a_block_without_gradient_adds_nothing():
    k = torch.eye(4, dtype=torch.float64)
    residual = torch.ones(4, 1, dtype=torch.float64)
    both = adam_kernel({"live": k, "dead": torch.zeros(4, 4, dtype=torch.float64)}, {"live": 9, "dead": 5}, residual, 4)
    torch.testing.assert_close(both, adam_kernel({"live": k}, {"live": 9}, residual, 4))
