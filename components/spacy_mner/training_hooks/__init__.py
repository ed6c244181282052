"""The registered functions a training config names around the models: the corpus reader and the
`evaluate` callback that carry each post's image data across spaCy's `Example` (`reader.py`,
`evaluate.py`), the `[initialize.before_init]` callback that builds CWI's static vectors (`vectors.py`), and
the `[initialize.after_init]` callback that gives a sourced `crf_ner` the corpus's labels (`sourced_labels.py`).
File formats live in `spacy_mner.corpus`, the architectures in `spacy_mner.models`.
"""
