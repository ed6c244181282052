"""Importing the architectures and the component reads no Hugging Face library: transformers and
spacy-transformers load only when an MSB model is built (thinc itself imports torch where installed)."""
import subprocess
import sys

MODULES = ["spacy_mner", "spacy_mner.models.msb", "spacy_mner.models.cwi", "spacy_mner.pipeline.crf_ner",
           "spacy_mner.training_hooks.reader", "spacy_mner.training_hooks.evaluate", "spacy_mner.training_hooks.vectors"]


def run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_importing_loads_no_hugging_face_library_until_msb_is_built():
    loaded = "sorted({'transformers', 'spacy_transformers', 'spacy_mner.models.msb_net'} & set(sys.modules))"
    code = f"import sys, {', '.join(MODULES)}; print({loaded}); " \
           f"spacy_mner.models.msb.build_msb(nO=3); print({loaded})"
    assert run(code).splitlines() == ["[]", "['spacy_mner.models.msb_net', 'spacy_transformers', 'transformers']"]
