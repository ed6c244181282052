"""A corpus post as an app would see it: its tokens, or text written from them, with the gold moved along.

Apps call `nlp(text)`, so a model is only as good on raw posts as its tokenizer is at finding the
annotators' tokens again. The benchmark scores each model three ways (`TEXT_MODES`):
- "tokens": the corpus's own tokens (what `spacy evaluate` does with a converted DocBin);
- "spaced": the tokens joined by one space, tokenized by the pipeline;
- "typed": punctuation attached as people type it (no space before `, . ! ? : ; ) n't 's …`, none after
  `(`), tokenized by the pipeline.
The reference Doc of a text mode has the corpus's tokens, spaced as the text is, so its text is exactly
the text given to the pipeline and each gold entity covers the same words; spaCy's `Example` aligns it
with the pipeline's tokens.
"""
from typing import List

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.training import Example

from ..extensions import copy_image_data

TEXT_MODES = ("tokens", "spaced", "typed")
NO_SPACE_BEFORE = {",", ".", "!", "?", ":", ";", ")", "n't", "'s", "…"}
NO_SPACE_AFTER = {"("}


def spaces_after(words: List[str], mode: str) -> List[bool]:
    """Whether the text of `mode` has a space after each word (none after the last)."""
    if mode not in TEXT_MODES:
        raise ValueError(f"text mode must be one of {', '.join(TEXT_MODES)}, not {mode!r}")
    spaces = [True] * len(words)
    if mode == "typed":
        for i, word in enumerate(words[:-1]):
            if word in NO_SPACE_AFTER or words[i + 1] in NO_SPACE_BEFORE:
                spaces[i] = False
    if spaces:
        spaces[-1] = False
    return spaces


def reference_in_mode(gold: Doc, mode: str) -> Doc:
    """`gold`'s tokens, entities and image data, spaced as `mode` writes the post."""
    words = [t.text for t in gold]
    doc = Doc(gold.vocab, words=words, spaces=spaces_after(words, mode))
    doc.ents = [Span(doc, ent.start, ent.end, label=ent.label) for ent in gold.ents]
    copy_image_data(gold, doc)
    return doc


def examples_in_mode(nlp: Language, golds: List[Doc], mode: str) -> List[Example]:
    """Examples whose predicted Docs are what the pipeline gets in `mode`: the corpus tokens, or its own
    tokenization of the text (image data copied), against the reference in that mode."""
    examples = []
    for gold in golds:
        reference = reference_in_mode(gold, mode)
        if mode == "tokens":
            predicted = Doc(nlp.vocab, words=[t.text for t in gold])
        else:
            predicted = nlp.make_doc(reference.text)
        copy_image_data(reference, predicted)
        examples.append(Example(predicted, reference))
    return examples
