"""spacy-mner: multimodal named entity recognition for social media posts, as spaCy components.

Importing the package registers the Doc extensions only; torch and the models load when a component or
architecture is first built (spaCy finds them through this package's entry points).
"""
from .about import __version__  # noqa: F401
from .extensions import register_extensions

register_extensions()
