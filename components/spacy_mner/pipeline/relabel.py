"""Moving a trained `crf_ner` to another label set, keeping what it learned about the labels both share.

A component trained on one corpus (the first stage on CoNLL-2003) and trained further on another whose
entity types differ needs the new corpus's tag layout. The encoder is untouched; the output layer (one row
of weights per tag) and the CRF (a start, end and transition score per tag) are re-made at the new size: a
tag whose label the new set shares with the old one (or that `label_map` carries over, e.g. PER -> person)
keeps its trained row, and its transitions to and from other kept tags; every other row starts as a fresh
layer's would; rows of old labels with no place in the new set are dropped. O always keeps its row.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from thinc.api import Model

from ..tags import bio_tags


@dataclass
class LabelChange:
    """What a change of label set keeps, carries over (old -> new), adds fresh and drops."""

    kept: List[str] = field(default_factory=list)
    carried: List[Tuple[str, str]] = field(default_factory=list)
    added: List[str] = field(default_factory=list)
    dropped: List[str] = field(default_factory=list)

    def describe(self) -> str:
        parts = [("kept", ", ".join(self.kept)), ("carried over", ", ".join(f"{a} -> {b}" for a, b in self.carried)),
                 ("added (fresh weights)", ", ".join(self.added)), ("dropped", ", ".join(self.dropped))]
        return "; ".join(f"{what}: {labels}" for what, labels in parts if labels)


def plan_label_change(
    old: Sequence[str], new: Sequence[str], label_map: Optional[Dict[str, str]] = None
) -> Tuple[List[Optional[int]], LabelChange, List[str]]:
    """For each tag of `bio_tags(new)`, the old tag whose row it keeps (None: fresh); what changes; and
    warnings about `label_map` entries that name no old label or no new one (they are ignored).

    `label_map` maps old labels to new ones; it wins over a same-named label. Two old labels mapped to one
    new label is an error."""
    label_map = dict(label_map or {})
    warnings: List[str] = []
    targets: Dict[str, str] = {}
    for source, target in label_map.items():
        if source not in old:
            warnings.append(f"label_map {source}={target}: {source!r} is not a label of the trained component "
                            f"({', '.join(old)}); ignored")
        elif target not in new:
            warnings.append(f"label_map {source}={target}: {target!r} is not a label of the training corpus "
                            f"({', '.join(new)}); ignored")
        elif target in targets:
            raise ValueError(f"label_map maps both {targets[target]!r} and {source!r} to {target!r}: one label "
                             "can start from one trained label only")
        else:
            targets[target] = source
    origin = {label: targets.get(label, label if label in old else None) for label in new}
    change = LabelChange(
        kept=[label for label in new if origin[label] == label],
        carried=[(origin[label], label) for label in new if origin[label] not in (None, label)],
        added=[label for label in new if origin[label] is None],
        dropped=[label for label in old if label not in origin.values()],
    )
    old_index = {tag: i for i, tag in enumerate(bio_tags(old))}
    sources: List[Optional[int]] = [0] + [
        None if origin[label] is None else old_index[f"{prefix}-{origin[label]}"] for label in new for prefix in "BI"
    ]
    return sources, change, warnings


def resize_tag_layer(layer: Model, sources: List[Optional[int]], tag_axes: Dict[str, Tuple[int, ...]]) -> None:
    """Re-make `layer` (a dim `nO`: the number of tags) at `len(sources)` tags, in place: its own init
    draws fresh parameters, then each new tag `j` with `sources[j] = i` takes old tag `i`'s values on every
    axis of `tag_axes[param]` (a tag's row; for a square transition table, its row and column among the
    kept tags)."""
    xp = layer.ops.xp
    old_n = layer.get_dim("nO")
    old = {name: layer.get_param(name).copy() for name in tag_axes}
    for name, axes in tag_axes.items():
        if any(old[name].shape[axis] != old_n for axis in axes):
            raise ValueError(f"{layer.name}'s parameter {name!r} has shape {old[name].shape}, not {old_n} tags on axes {axes}")
    for name in layer.param_names:
        layer.set_param(name, None)
    layer.set_dim("nO", len(sources), force=True)
    layer.initialize()
    new_rows = xp.asarray([j for j, i in enumerate(sources) if i is not None])
    old_rows = xp.asarray([i for i in sources if i is not None])
    for name, axes in tag_axes.items():
        value = layer.get_param(name).copy()
        if axes == (0,):
            value[new_rows] = old[name][old_rows]
        elif axes == (0, 1):
            value[xp.ix_(new_rows, new_rows)] = old[name][xp.ix_(old_rows, old_rows)]
        else:
            raise ValueError(f"tag axes {axes} of {name!r}: only (0,) and (0, 1) are supported")
        layer.set_param(name, value)
