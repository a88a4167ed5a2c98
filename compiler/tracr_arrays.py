"""Two of tracr's craft helpers, done with array operations.

tracr builds a basis vector as a row of a fresh identity matrix (`np.eye(n)[i]`: n² work for a
vector of n numbers) and joins parallel linear maps by applying every map to every basis
direction of the joint space, one Python call each. With a pairing of 4,096 values (sort with
ties at length 128 over 32 tokens) both run for minutes. `array_helpers()` swaps in versions
with the same results that fill a zero vector and add each map's matrix into its rows and
columns, while a model is built (tracr calls both through its classes; the originals are put
back on exit). `tests/test_compiler_graph.py` holds both equal to tracr's.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Sequence

import numpy as np
from tracr.craft import bases, vectorspace_fns


def vector_from_basis_direction(space: bases.VectorSpaceWithBasis,
                                direction: bases.BasisDirection) -> bases.VectorInBasis:
    """The unit vector of `direction` in `space` (tracr's, without the identity matrix)."""
    magnitudes = np.zeros(space.num_dims)
    magnitudes[space.index_by_direction[direction]] = 1.0
    return space.make_vector(magnitudes)


def combine_in_parallel(fns: Sequence[vectorspace_fns.Linear]) -> vectorspace_fns.Linear:
    """The sum of linear maps on the joint input and output spaces (tracr's `combine_in_parallel`:
    each map acts on the part of the input in its own input space)."""
    joint_in = bases.join_vector_spaces(*[fn.input_space for fn in fns])
    joint_out = bases.join_vector_spaces(*[fn.output_space for fn in fns])
    matrix = np.zeros((joint_in.num_dims, joint_out.num_dims))
    for fn in fns:
        rows = [joint_in.index_by_direction[d] for d in fn.input_space.basis]
        cols = [joint_out.index_by_direction[d] for d in fn.output_space.basis]
        matrix[np.ix_(rows, cols)] += fn.matrix
    return vectorspace_fns.Linear(joint_in, joint_out, matrix)


@contextmanager
def array_helpers() -> Iterator[None]:
    """tracr's craft with `vector_from_basis_direction` and `combine_in_parallel` above."""
    space, linear = bases.VectorSpaceWithBasis, vectorspace_fns.Linear
    originals = space.vector_from_basis_direction, linear.__dict__["combine_in_parallel"]
    space.vector_from_basis_direction = vector_from_basis_direction
    linear.combine_in_parallel = classmethod(lambda cls, fns: combine_in_parallel(fns))
    try:
        yield
    finally:
        space.vector_from_basis_direction, linear.combine_in_parallel = originals
