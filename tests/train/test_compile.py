import pytest
import torch

import tsreprog.train.compile as compile_module
from tsreprog.train.compile import compile_forward, uncompile


def test_a_compile_failure_falls_back_to_eager_with_one_warning(monkeypatch):
    def broken_compile(fn, **kwargs):
        def run(*args, **kw):
            raise RuntimeError("no C++ compiler found\nlong details")
        return run

    monkeypatch.setattr(compile_module.torch, "compile", broken_compile)
    model = torch.nn.Linear(3, 2)
    x = torch.randn(4, 3)
    expected = model(x)
    warnings = []
    compile_forward(model, warnings.append)
    torch.testing.assert_close(model(x), expected)
    torch.testing.assert_close(model(x), expected)
    assert warnings == ["torch.compile failed (RuntimeError: no C++ compiler found); training continues in eager mode"]
    uncompile(model)
    assert "forward" not in model.__dict__


def test_errors_of_the_model_itself_still_surface(monkeypatch):
    monkeypatch.setattr(compile_module.torch, "compile", lambda fn, **kwargs: fn)
    model = compile_forward(torch.nn.Linear(3, 2), lambda line: None)
    with pytest.raises(RuntimeError):
        model(torch.randn(4, 5))  # wrong width: eager raises it again after the fallback
