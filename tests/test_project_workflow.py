"""project.yml's `corpus` workflow on a corpus of our own with six entity types: convert (a Prodigy JSONL train
file, Twitter-layout dev and test) -> label images -> train CWI and MSB -> evaluate -> report, through
`spacy project run`, with tiny epochs. The report has one column per type of the corpus. Then the
`two_stage` workflow on the same corpus, its first stage on a few CoNLL-2003-style sentences of our own:
the second stage learns the six types, and the corpus is not converted or labelled again."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TYPES = ["corporation", "creative-work", "group", "location", "person", "product"]
# CoNLL-2003's layout (token POS chunk NER, IOB1), sentences written for this test
CONLL = """-DOCSTART- -X- -X- O

Ana NNP B-NP I-PER
Silva NNP I-NP I-PER
joins VBZ B-VP O
Acme NNP B-NP I-ORG
in IN B-PP O
Lisbon NNP B-NP I-LOC
. . O O

Tickets NNS B-NP O
for IN B-PP O
Euro NNP B-NP I-MISC
2024 CD I-NP I-MISC
sold VBN B-VP O
out RP B-PRT O
"""


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
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}

    def run(workflow: str, **extra):
        command = [sys.executable, "-m", "spacy", "project", "run", workflow, str(tmp_path)]
        for name, value in {**variables, **extra}.items():
            command += [f"--vars.{name}", str(value)]
        return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=900)

    done = run("corpus")
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert "[jsonl] posts 24, tokens 207, entities 49" in done.stdout
    for model in ("cwi", "msb_crf"):
        assert (tmp_path / "training" / "six_types" / model / "model-best" / "meta.json").is_file()
    report = (tmp_path / "reports" / "six_types" / "report.md").read_text(encoding="utf8")
    assert "| model | scored on | P | R | F1 | " + " | ".join(TYPES) + " |" in report
    assert report.count("| ours: six_types |") == 2 and "### cwi" in report and "### msb_crf" in report

    (tmp_path / "conll").mkdir()
    for split in ("train", "valid"):
        (tmp_path / "conll" / f"{split}.txt").write_text(CONLL, encoding="utf8")
    done = run("two_stage", conll_dir="conll", stage2_label_map="PER=person,LOC=location,ORG=corporation")
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    for step in ("convert", "label-images"):  # the corpus files did not change since the first workflow
        assert f"Skipping '{step}': nothing changed" in done.stdout
    assert ("labels changed to the training data's (corporation, creative-work, group, location, person, product): "
            "carried over: ORG -> corporation, LOC -> location, PER -> person; added (fresh weights): creative-work, "
            "group, product; dropped: OTHER") in done.stdout + done.stderr
    metrics = json.loads((tmp_path / "metrics" / "six_types" / "msb_crf_conll.json").read_text(encoding="utf8"))
    assert sorted(metrics["ents_per_type"]) == TYPES
