"""project.yml's `corpus` workflow on a corpus of our own with six entity types: convert (a Prodigy JSONL train
file, Twitter-layout dev and test) -> label images -> train CWI and MSB -> evaluate -> report, through
`spacy project run`, with tiny epochs. The report has one column per type of the corpus."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TYPES = ["corporation", "creative-work", "group", "location", "person", "product"]


def test_any_corpus_workflow_trains_both_models(tmp_path):
    from PIL import Image
    from skimage import data

    for name in ("project.yml", "configs", "scripts"):
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "corpus" / "six_types", tmp_path / "corpus" / "six_types")
    (tmp_path / "images").mkdir()
    photo = Image.fromarray(data.coffee()).resize((64, 48))
    for split in ("train", "dev", "test"):
        for line in (ROOT / "corpus" / "six_types" / f"{split}.txt").read_text(encoding="utf8").splitlines():
            if line.startswith("IMGID:"):
                photo.save(tmp_path / "images" / f"{line[6:]}.jpg")
    variables = {
        "corpus": "six_types", "data_dir": "corpus/six_types", "train_file": "train.jsonl", "images": "images",
        "captions": "", "cwi_epochs": 1, "msb_epochs": 1, "cwi_eval_frequency": 5, "msb_eval_frequency": 5,
        "vector_rows": 1000,
    }
    command = [sys.executable, "-m", "spacy", "project", "run", "corpus", str(tmp_path)]
    for name, value in variables.items():
        command += [f"--vars.{name}", str(value)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert "[jsonl] posts 24, tokens 207, entities 49" in done.stdout
    for model in ("cwi", "msb_crf"):
        assert (tmp_path / "training" / "six_types" / model / "model-best" / "meta.json").is_file()
    report = (tmp_path / "reports" / "six_types" / "report.md").read_text(encoding="utf8")
    assert "| model | scored on | P | R | F1 | " + " | ".join(TYPES) + " |" in report
    assert report.count("| ours: six_types |") == 2 and "### cwi" in report and "### msb_crf" in report
