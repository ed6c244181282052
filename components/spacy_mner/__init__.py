"""spacy-mner: multimodal named entity recognition for social media posts, as spaCy components.

Importing the package registers the Doc extensions only; torch and the models load when a component or
architecture is first built (spaCy finds them through this package's entry points).
"""
from .extensions import register_extensions

__version__ = "0.1.0"

register_extensions()
