"""MSB's input builder: spaCy docs and their image words -> BERT windows, and where each token's vector
comes from (`featurize`).

A window is `[CLS] post wordpieces [SEP] image wordpieces [SEP]` (just `[CLS] post [SEP]` when the post has
no image words), token type 0 up to the first [SEP], 1 after it. A post whose wordpieces do not fit in one
window is cut into overlapping windows on token boundaries; the image words are repeated in every window,
so each window sees the whole image signal. Every token is read from exactly one window: the one in which
it sits furthest from an edge, so it has the most context on both sides.

Everything here is plain Python and numpy (no torch): the batch crosses into torch once, as arrays.
"""
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy
from spacy.tokens import Doc

from ..extensions import image_words


@dataclass
class Specials:
    """The ids of the tokenizer's special pieces."""

    cls: int
    sep: int
    pad: int
    unk: int

    @classmethod
    def of(cls, tokenizer: Any) -> "Specials":
        return cls(tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id, tokenizer.unk_token_id)


@dataclass
class WindowBatch:
    """The encoder's input for a batch of posts, and how to pool its output into one row per token.

    Row r of the output (tokens of the batch in order) is sum_k piece_weight[k] * hidden[piece_index[k]]
    over the k with token_index[k] == r, where `hidden` is the encoder output flattened to
    (n_windows * length, width).
    """

    input_ids: numpy.ndarray  # (n_windows, length) int64
    attention_mask: numpy.ndarray  # (n_windows, length) int64
    token_type_ids: numpy.ndarray  # (n_windows, length) int64
    case_ids: numpy.ndarray  # (n_windows, length) int64: each post piece its token's `case_class`, else 0
    piece_index: numpy.ndarray  # (n_picked,) int64, flat index into (n_windows * length)
    piece_weight: numpy.ndarray  # (n_picked,) float32
    token_index: numpy.ndarray  # (n_picked,) int64, output row
    n_tokens: int


def word_pieces(tokenizer: Any, word_lists: Sequence[Sequence[str]]) -> List[List[List[int]]]:
    """Each word's wordpiece ids, one list per word list, in one call to a fast tokenizer.

    Words are tokenized as pre-split words, so a token's pieces never mix with its neighbours'. A word
    the tokenizer drops entirely (whitespace, control characters) gets the single piece [UNK], so that
    every spaCy token has at least one piece and hence a row.
    """
    unk = tokenizer.unk_token_id
    out: List[List[List[int]]] = [[] for _ in word_lists]
    filled = [i for i, words in enumerate(word_lists) if words]
    if not filled:
        return out
    encoded = tokenizer(
        [list(word_lists[i]) for i in filled], is_split_into_words=True, add_special_tokens=False, verbose=False
    )
    for row, i in enumerate(filled):
        pieces: List[List[int]] = [[] for _ in word_lists[i]]
        for piece, word in zip(encoded["input_ids"][row], encoded.word_ids(row)):
            if word is not None:
                pieces[word].append(piece)
        out[i] = [p or [unk] for p in pieces]
    return out


CASE_CLASSES = 6  # 0: not a post token (specials, image words, padding); the others: see `case_class`


def case_class(word: str) -> int:
    """A word's letter case, which an uncased encoder cannot see: 1 lower, 2 Title, 3 UPPER (two or more
    letters), 4 mixed, 5 no letters. A hashtag's or mention's sign is skipped (`#NBA` is UPPER)."""
    if len(word) > 1 and word[0] in "#@":
        word = word[1:]
    letters = [c for c in word if c.isalpha()]
    if not letters or not any(c.isupper() or c.islower() for c in letters):
        return 5
    if not any(c.isupper() for c in letters):
        return 1
    if letters[0].isupper() and not any(c.isupper() for c in letters[1:]):
        return 2
    if not any(c.islower() for c in letters):
        return 3
    return 4


def plan_windows(counts: Sequence[int], budget: int, step: int) -> List[Tuple[int, int]]:
    """Token ranges [start, end) whose wordpieces (counts[t] each, none over `budget`) fit in `budget`.

    Consecutive windows start about `step` wordpieces apart but always on a token boundary, never after
    the previous window's end (so no token falls between two windows) and always at least one token
    later (so the plan ends). The last window ends at the last token.
    """
    if any(c > budget or c < 1 for c in counts):
        raise ValueError(f"every token needs between 1 and {budget} wordpieces")
    offsets = numpy.concatenate([[0], numpy.cumsum(counts, dtype="int64")]).tolist()
    n = len(counts)
    windows: List[Tuple[int, int]] = []
    start = 0
    while start < n:
        end = start
        while end < n and offsets[end + 1] - offsets[start] <= budget:
            end += 1
        windows.append((start, end))
        if end == n:
            break
        nxt = start + 1
        while nxt < end and offsets[nxt] < offsets[start] + step:
            nxt += 1
        start = nxt
    return windows


def assign_windows(counts: Sequence[int], windows: Sequence[Tuple[int, int]]) -> List[int]:
    """For each token, the window that reads it: among the windows holding it, the one where the token's
    centre is furthest (in wordpieces) from the window's nearer edge; ties go to the earlier window."""
    offsets = numpy.concatenate([[0], numpy.cumsum(counts, dtype="int64")]).tolist()
    owner = [-1] * len(counts)
    margin = [float("-inf")] * len(counts)
    for w, (start, end) in enumerate(windows):
        for t in range(start, end):
            centre = offsets[t] + counts[t] / 2
            m = min(centre - offsets[start], offsets[end] - centre)
            if m > margin[t]:
                owner[t], margin[t] = w, m
    return owner


def build_windows(
    token_pieces: Sequence[Sequence[Sequence[int]]],
    image_pieces: Sequence[Sequence[int]],
    specials: Specials,
    window: int,
    stride: int,
    pooling: str,
    token_cases: Optional[Sequence[Sequence[int]]] = None,
) -> WindowBatch:
    """The encoder input for a batch of non-empty posts.

    token_pieces: per post, per token, its wordpiece ids (at least one each). image_pieces: per post, the
    wordpieces of its image words. The image pieces keep at most half of a window (the post keeps the rest),
    and a single token longer than a window's post part keeps its first pieces. Consecutive windows
    share `window - stride` post wordpieces whatever room the image words take. pooling: "first" reads a
    token from its first wordpiece, "mean" averages all of them. token_cases: per post, per token, its
    `case_class`, given to every piece of the token (None: all 0).
    """
    rows: List[List[int]] = []
    types: List[List[int]] = []
    cases: List[List[int]] = []
    piece_weight: List[float] = []
    token_index: List[int] = []
    picks: List[Tuple[int, int]] = []  # (row, position) before the rows are padded to one length
    n_tokens = 0
    if token_cases is None:
        token_cases = [[0] * len(pieces) for pieces in token_pieces]
    elif [len(c) for c in token_cases] != [len(p) for p in token_pieces]:
        raise ValueError("token_cases must give one case class per token of every post")
    for pieces, image, token_case in zip(token_pieces, image_pieces, token_cases):
        image = list(image[: (window - 3) // 2])
        tail = [specials.sep] + image + [specials.sep] if image else [specials.sep]
        budget = window - 1 - len(tail)
        step = max(1, budget - (window - stride))
        pieces = [list(p[:budget]) for p in pieces]
        counts = [len(p) for p in pieces]
        windows = plan_windows(counts, budget, step)
        owner = assign_windows(counts, windows)
        first_row = len(rows)
        for start, end in windows:
            post = [piece for p in pieces[start:end] for piece in p]
            rows.append([specials.cls] + post + tail)
            types.append([0] * (len(post) + 2) + [1] * (len(tail) - 1))
            post_cases = [c for p, c in zip(pieces[start:end], token_case[start:end]) for _ in p]
            cases.append([0] + post_cases + [0] * len(tail))
        offsets = numpy.concatenate([[0], numpy.cumsum(counts, dtype="int64")]).tolist()
        for t, w in enumerate(owner):
            start = windows[w][0]
            position = 1 + offsets[t] - offsets[start]
            used = 1 if pooling == "first" else counts[t]
            for k in range(used):
                picks.append((first_row + w, position + k))
                piece_weight.append(1.0 / used)
                token_index.append(n_tokens + t)
        n_tokens += len(pieces)
    length = max(len(r) for r in rows)
    input_ids = numpy.full((len(rows), length), specials.pad, dtype="int64")
    attention_mask = numpy.zeros((len(rows), length), dtype="int64")
    token_type_ids = numpy.zeros((len(rows), length), dtype="int64")
    case_ids = numpy.zeros((len(rows), length), dtype="int64")
    for i, (row, row_types, row_cases) in enumerate(zip(rows, types, cases)):
        input_ids[i, : len(row)] = row
        attention_mask[i, : len(row)] = 1
        token_type_ids[i, : len(row)] = row_types
        case_ids[i, : len(row)] = row_cases
    return WindowBatch(
        input_ids=input_ids,
        attention_mask=attention_mask,
        token_type_ids=token_type_ids,
        case_ids=case_ids,
        piece_index=numpy.asarray([r * length + p for r, p in picks], dtype="int64"),
        piece_weight=numpy.asarray(piece_weight, dtype="float32"),
        token_index=numpy.asarray(token_index, dtype="int64"),
        n_tokens=n_tokens,
    )


def featurize(docs: List[Doc], tokenizer: Any, attrs: Dict[str, Any]) -> WindowBatch:
    """The encoder's windows for non-empty docs (settings from the model's attrs)."""
    source, content_only, max_words = attrs["image_words"], attrs["content_image_words"], attrs["max_image_words"]
    images = [image_words(doc, source, content_only)[:max_words] for doc in docs]
    texts = [[t.text for t in doc] for doc in docs]
    pieces = word_pieces(tokenizer, texts + images)
    image_pieces = [[p for word in words for p in word] for words in pieces[len(docs):]]
    cases = [[case_class(w) for w in words] for words in texts] if attrs["case_features"] else None
    return build_windows(
        pieces[: len(docs)],
        image_pieces,
        Specials.of(tokenizer),
        attrs["window"],
        attrs["stride"],
        attrs["pooling"],
        token_cases=cases,
    )
