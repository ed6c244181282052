"""The registered functions a training config names around the models: the corpus reader and the
`evaluate` callback that carry each post's image data across spaCy's `Example` (`reader.py`,
`evaluate.py`), and the `[initialize.before_init]` callback that builds CWI's static vectors (`vectors.py`).
File formats live in `spacy_mner.corpus`, the architectures in `spacy_mner.models`.
"""
