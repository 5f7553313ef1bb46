import pytest
import torch
from torch import nn

from tsreprog.models import ModelConfig, build_model
from tsreprog.ntk import eigenvalues, empirical_ntk, kernel_regression_mse, lanczos_extremes, spectrum_report
from tsreprog.ntk.kernel import vmap_friendly_attention

TINY = dict(backbone="random:bert", lookback=48, horizon=6, patch_len=8, patch_stride=4, d_model=16, n_heads=4,
            n_prototypes=20, dropout=0.0)


def test_linear_model_kernel_is_x_xt():
    torch.manual_seed(0)
    model = nn.Linear(5, 1, bias=False).double()
    x = torch.randn(7, 5, dtype=torch.float64)
    result = empirical_ntk(model, x, dtype=torch.float64)
    torch.testing.assert_close(result.kernel, x @ x.T)
    with_outputs = nn.Linear(5, 3).double()  # traced over 3 outputs, with bias: 3·(x·x' + 1)
    torch.testing.assert_close(empirical_ntk(with_outputs, x, dtype=torch.float64).kernel, 3 * (x @ x.T + 1))


def loop_kernel(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Reference: per-sample, per-output autograd loop, full Jacobians, trace over outputs."""
    params = [p for p in model.parameters() if p.requires_grad]
    rows = []
    for i in range(len(x)):
        out = model(x[i:i + 1]).reshape(-1)
        jac = [torch.cat([g.reshape(-1) for g in torch.autograd.grad(out[o], params, retain_graph=True)])
               for o in range(out.numel())]
        rows.append(torch.stack(jac))
    jacobians = torch.stack(rows)  # (N, O, P)
    return torch.einsum("iop,jop->ij", jacobians, jacobians)


def test_mlp_kernel_matches_autograd_loop_and_ignores_frozen():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)).double()
    model[0].requires_grad_(False)  # frozen layer: must contribute nothing
    x = torch.randn(6, 4, dtype=torch.float64)
    result = empirical_ntk(model, x, dtype=torch.float64, chunk=4)
    torch.testing.assert_close(result.kernel, loop_kernel(model, x))
    head_only = empirical_ntk(model, x, dtype=torch.float64, param_filter=lambda n, p: n.startswith("2."))
    torch.testing.assert_close(result.kernel, head_only.kernel)
    assert result.n_parameters == 8 * 3 + 3


def test_reprogrammed_structured_kernel_equals_generic():
    torch.manual_seed(2)
    model = build_model(ModelConfig(**TINY)).double()
    x = torch.randn(5, 48, 1, dtype=torch.float64)
    structured = empirical_ntk(model, x, dtype=torch.float64)
    generic = empirical_ntk(model, x, dtype=torch.float64, structured=False)
    torch.testing.assert_close(structured.kernel, generic.kernel, rtol=1e-9, atol=1e-9)
    full = empirical_ntk(model, x, dtype=torch.float64, full=True)
    assert full.kernel.shape == (30, 30)
    traced = full.kernel.reshape(5, 6, 5, 6).diagonal(dim1=1, dim2=3).sum(-1)
    torch.testing.assert_close(traced, generic.kernel, rtol=1e-9, atol=1e-9)
    assert all(not p.requires_grad for p in model.backbone.parameters())


def test_sketch_is_unbiased_for_the_traced_kernel():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 12)).double()
    x = torch.randn(5, 4, dtype=torch.float64)
    exact = empirical_ntk(model, x, dtype=torch.float64).kernel
    one = empirical_ntk(model, x, mode="sketch", n_probes=2, seed=0, dtype=torch.float64).kernel
    mean = torch.stack([empirical_ntk(model, x, mode="sketch", n_probes=4, seed=s, dtype=torch.float64).kernel
                        for s in range(300)]).mean(0)
    error_one = (one - exact).norm() / exact.norm()
    error_mean = (mean - exact).norm() / exact.norm()
    assert error_mean < 0.05 and error_mean < error_one


def test_lanczos_matches_eigvalsh():
    torch.manual_seed(4)
    a = torch.randn(200, 60, dtype=torch.float64)
    kernel = a @ a.T + 1e-3 * torch.eye(200, dtype=torch.float64)
    exact = torch.linalg.eigvalsh(kernel)
    low, high = lanczos_extremes(lambda v: kernel @ v, 200, k=3, iterations=120)
    torch.testing.assert_close(high, exact[-3:], rtol=1e-8, atol=1e-8)
    assert abs(float(low[0]) - float(exact[0])) < 1e-6


def test_spectrum_figures_and_rank_deficiency():
    values = eigenvalues(torch.diag(torch.tensor([4.0, 2.0, 1.0, 0.0, 0.0], dtype=torch.float64)))
    report = spectrum_report(values)
    assert report.lambda_max == 4.0 and report.lambda_min == 1.0 and report.condition_number == 4.0
    assert report.numerical_rank == 3 and report.trace == 7.0
    assert 1.0 < report.effective_rank < 3.0


def test_kernel_regression_recovers_a_linear_target():
    torch.manual_seed(5)
    x = torch.randn(40, 3, dtype=torch.float64)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]], dtype=torch.float64)
    kernel = x @ x.T
    mse = kernel_regression_mse(kernel, torch.zeros(40, 1, dtype=torch.float64), y, n_train=30, ridge=1e-8)
    assert mse < 1e-8


def test_centred_kernel_is_the_linear_kernel_of_centred_features_and_fits_an_offset():
    """Centring with training statistics equals the linear kernel of features minus their training mean; a target
    with a large common offset is then fit exactly, which the raw kernel with a feature mean far from zero cannot
    do under the same relative ridge."""
    from tsreprog.ntk.spectrum import centre_kernel, centred_kernel_regression_mse

    torch.manual_seed(7)
    x = torch.randn(40, 3, dtype=torch.float64) + torch.tensor([50.0, 0.0, 0.0], dtype=torch.float64)
    centred = centre_kernel(x @ x.T, n_train=30)
    z = x - x[:30].mean(0, keepdim=True)
    assert torch.allclose(centred, z @ z.T, atol=1e-8)
    y = 7.0 + x[:, 1:] @ torch.tensor([[-2.0], [0.5]], dtype=torch.float64)
    zeros = torch.zeros(40, 1, dtype=torch.float64)
    assert centred_kernel_regression_mse(x @ x.T, zeros, y, n_train=30, ridge=1e-6) < 1e-6
    assert kernel_regression_mse(x @ x.T, zeros, y, n_train=30, ridge=1e-3) > 1e-3


def test_gradient_descent_figure_matches_an_explicit_descent_on_a_linear_model():
    """The finite-budget figure is what plain gradient descent at η = 1/λ_max does to a linear model in ``steps``
    steps (checked against the loop itself); zero steps leave the initial error, many steps reach the fit."""
    from tsreprog.ntk.spectrum import gradient_descent_mse

    torch.manual_seed(8)
    x = torch.randn(40, 3, dtype=torch.float64) * torch.tensor([10.0, 1.0, 0.1], dtype=torch.float64)
    y = x @ torch.tensor([[0.1], [-2.0], [5.0]], dtype=torch.float64)
    kernel = x @ x.T
    zeros = torch.zeros(40, 1, dtype=torch.float64)
    step = 1.0 / float(torch.linalg.eigvalsh(kernel[:30, :30]).max())
    for steps in (0, 1, 7, 50):
        w = torch.zeros(3, 1, dtype=torch.float64)
        for _ in range(steps):  # loss ½‖Xw − y‖² on the training rows
            w = w - step * x[:30].T @ (x[:30] @ w - y[:30])
        expected = float(((x[30:] @ w - y[30:]) ** 2).mean())
        assert abs(gradient_descent_mse(kernel, zeros, y, 30, steps) - expected) < 1e-9 * max(1.0, expected)
    assert gradient_descent_mse(kernel, zeros, y, 30, 0) == float((y[30:] ** 2).mean())
    assert gradient_descent_mse(kernel, zeros, y, 30, 10**7) < 1e-8


def test_matrix_free_operator_matches_formed_kernel():
    torch.manual_seed(6)
    for model in (build_model(ModelConfig(**TINY)).double(),
                  nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 6)).double()):
        x = torch.randn(12, 48, 1, dtype=torch.float64) if isinstance(model, nn.Module) and hasattr(
            model, "backbone") else torch.randn(12, 4, dtype=torch.float64)
        formed = empirical_ntk(model, x, dtype=torch.float64).kernel
        lazy = empirical_ntk(model, x, dtype=torch.float64, matrix_free=True, memory_mb=1)
        assert lazy.kernel is None and lazy.operator.size == 12
        v = torch.randn(12, dtype=torch.float64)
        torch.testing.assert_close(lazy.operator.matvec(v), formed @ v, rtol=1e-9, atol=1e-9)
        low, high = lanczos_extremes(lazy.operator.matvec, 12, k=1, iterations=12)
        exact = torch.linalg.eigvalsh(formed)
        torch.testing.assert_close(high[-1], exact[-1], rtol=1e-8, atol=1e-8)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU on this machine (runs where one is lent)")
def test_cpu_and_gpu_kernels_agree():
    torch.manual_seed(3)
    model = build_model(ModelConfig(**TINY)).double().eval()
    x = torch.randn(6, 48, 2, dtype=torch.float64)
    on_cpu = empirical_ntk(model, x, dtype=torch.float64).kernel
    on_gpu = empirical_ntk(model.cuda(), x.cuda(), dtype=torch.float64).kernel.cpu()
    torch.testing.assert_close(on_gpu, on_cpu, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("mode", ["exact", "sketch"])
def test_the_kernel_makes_its_own_tensors_where_the_model_is(mode):
    """A GPU cannot run here; the meta device refuses to mix with CPU tensors as CUDA does, so a probe, identity or
    column of ones made on the CPU beside a model elsewhere fails this test (it did before `select` ran on GPUs)."""
    model = build_model(ModelConfig(**TINY)).to("meta")
    model.prototypes._embeddings[0] = model.backbone.word_embeddings  # moving to meta makes new parameter objects
    x = torch.empty(4, 48, 2, device="meta")
    for options in (dict(blocks=True), dict(full=True)):
        if options.get("full") and mode == "sketch":
            continue
        result = empirical_ntk(model, x if not options.get("full") else x[..., :1], mode=mode, n_probes=2, **options)
        assert result.kernel.device.type == "meta"
    mlp = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 6)).to("meta")
    for full in (False, True) if mode == "exact" else (False,):
        result = empirical_ntk(mlp, torch.empty(5, 4, device="meta"), mode=mode, n_probes=2, full=full)
        assert result.kernel.device.type == "meta" and result.kernel.shape[0] == 5 * (6 if full else 1)


@pytest.mark.parametrize("adapt", ["layernorm", "lora"])
def test_adapted_backbone_kernel_covers_its_trained_weights(adapt):
    """An adapted backbone trains weights inside it: the kernel is over those too (the autograd loop's), not the
    structured path's frozen-backbone kernel."""
    torch.manual_seed(3)
    model = build_model(ModelConfig(**TINY, adapt=adapt, lora_rank=2)).double()
    x = torch.randn(3, 48, 1, dtype=torch.float64)
    result = empirical_ntk(model, x, dtype=torch.float64)
    torch.testing.assert_close(result.kernel, loop_kernel(model.eval(), x), rtol=1e-7, atol=1e-9)
    assert result.n_parameters == sum(p.numel() for p in model.parameters() if p.requires_grad)


def test_the_kernel_of_a_pruned_encoder_vectorises_and_matches_the_loop():
    """MiniLM-style encoders skip most of their last block (Backbone's pruned path); under the NTK's vmap its fused
    CPU attention had no batching rule and ran once per sample, with a warning to the user. The kernel now runs it
    as plain operations: no warning, and the kernel of the per-sample autograd loop."""
    import warnings

    torch.manual_seed(4)
    model = build_model(ModelConfig(**TINY))
    model.eval()
    assert model.backbone._prunable
    x = torch.randn(4, 48, 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kernel = empirical_ntk(model, x).kernel
    assert not [w for w in caught if "batching rule" in str(w.message)]
    assert torch.backends.cuda.flash_sdp_enabled()  # the math backend is restored after the kernel
    torch.testing.assert_close(kernel, loop_kernel(model, x), rtol=1e-4, atol=1e-4)
    inputs = torch.randn(3, 20, model.backbone.embed_dim)
    fused = model.backbone(inputs, keep_last=7)
    with vmap_friendly_attention():
        torch.testing.assert_close(model.backbone(inputs, keep_last=7), fused, rtol=1e-5, atol=1e-5)
