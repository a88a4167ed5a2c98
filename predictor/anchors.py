"""The published figures our tasks are compared with, as data, keyed by our suite's task names.

EM per held-out bin as the papers report it (the best configuration of each task; train lengths
0-50, bins of 2,000 examples, learned absolute positions with a random offset per training example;
see docs and the papers for the full protocol). A figure applies to one of our bins only when the
bin's lengths are exactly the paper's (the "paper" protocol); otherwise the report compares shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

HUANG = ("Huang et al., ICLR 2025: \"A Formal Framework for Understanding Length Generalization in "
         "Transformers\" (Xinting Huang, Andy Yang, Satwik Bhattamishra, Yash Sarrof, Andreas Krebs, "
         "Hattie Zhou, Preetum Nakkiran, Michael Hahn; ICLR 2025)")
ZHOU = ("Zhou et al., ICLR 2024: \"What Algorithms can Transformers Learn? A Study in Length "
        "Generalization\" (Hattie Zhou, Arwen Bradley, Etai Littwin, Noam Razin, Omid Saremi, "
        "Joshua Susskind, Samy Bengio, Preetum Nakkiran; ICLR 2024)")
FIRST, SECOND = (51, 100), (101, 150)


@dataclass(frozen=True)
class Anchor:
    """One published result: who, on which task and model, and EM per held-out bin."""

    citation: str  # authors, title, venue, year
    task: str  # the paper's name for the task
    model: str  # layers, heads, width
    protocol: str = "paper"  # the protocol (predictor.protocols) that reproduces its setting
    bins: dict[tuple[int, int], float] = field(default_factory=dict)  # (first, last) -> EM
    note: str = ""

    @property
    def short(self) -> str:
        """The citation's first part, "Authors et al., VENUE YEAR", for tables."""
        return self.citation.partition(":")[0]


ANCHORS: dict[str, Anchor] = {
    "copy_unique": Anchor(HUANG, "copy, unique tokens", "2 layers, 1 head, width 64",
                          bins={FIRST: 0.999, SECOND: 0.987}),
    "copy_repeated": Anchor(HUANG, "copy, repeated tokens (vocabulary a, b)", "4 layers, 4 heads, width 256",
                            bins={FIRST: 0.256, SECOND: 0.000}),
    "sort_unique": Anchor(HUANG, "sort", "1 layer, 2 heads, width 256 (lr 1e-4)",
                          bins={FIRST: 0.9996, SECOND: 0.994}),
    "majority": Anchor(HUANG, "binary majority", "1 layer, 1 head, width 16",
                       bins={FIRST: 1.000, SECOND: 1.000},
                       note="their majority over 26 letters (1 layer, 2 heads, width 256): 0.996 and 0.978"),
    "parity": Anchor(HUANG, "parity", "4 layers, 2 heads, width 256", bins={FIRST: 0.830, SECOND: 0.621},
                     note="chance is 0.5"),
    "count": Anchor(ZHOU, "count", "decoder-only Transformer (the paper's setting)",
                    note="generalizes up to length 150 only when trained on lengths of 60 or more"),
}


@dataclass(frozen=True)
class Outcome:
    """Whether a task length-generalized in a paper, for the suite task that is it."""

    generalizes: bool
    citation: str
    what: str


# Huang et al.: mean EM >= 0.9 in their first held-out bin (51-100); Zhou et al.: the tasks the
# paper finds length-generalize (positives) and those it finds do not (negatives).
OUTCOMES: dict[str, Outcome] = {
    "count": Outcome(True, ZHOU, "positive (with training lengths of 60 or more)"),
    "mode": Outcome(True, ZHOU, "positive"),
    "copy_unique": Outcome(True, HUANG, "EM 0.999 at 51-100"),
    "copy_repeated": Outcome(False, HUANG, "EM 0.256 at 51-100"),
    "sort_unique": Outcome(True, HUANG, "EM 0.9996 at 51-100"),
    "addition": Outcome(False, HUANG, "binary addition, EM 0.268 at 51-100"),
    "addition_hints": Outcome(True, ZHOU, "positive (reversed output with index hints)"),
    "parity": Outcome(False, HUANG, "EM 0.830 at 51-100, chance 0.5"),
    "parity_scratchpad": Outcome(True, ZHOU, "positive (with a scratchpad)"),
    "majority": Outcome(True, HUANG, "binary majority, EM 1.000 at 51-100"),
}


def anchor_for(task_name: str) -> Anchor | None:
    """The published result for one of our tasks, or None."""
    return ANCHORS.get(task_name)


def published(task_name: str, lengths: tuple[int, int]) -> float | None:
    """The published EM for this task on exactly these held-out lengths (first, last), or None."""
    anchor = ANCHORS.get(task_name)
    return None if anchor is None else anchor.bins.get((int(lengths[0]), int(lengths[1])))
