"""Three of tracr's craft helpers, done with array operations.

tracr builds a basis vector as a row of a fresh identity matrix (`np.eye(n)[i]`: n² work for a
vector of n numbers), joins parallel linear maps by applying every map to every basis direction
of the joint space, one Python call each, and builds a discretising MLP's first layer (numerical
to categorical, or numerical to numerical) by adding one basis vector at a time per input value,
n² work for n values. With a pairing of 4,096 values (sort with ties at length 128 over 32
tokens) the first two run for minutes; dyck1 at length 32 discretises a 30,000-valued s-op and
the third ran for more than five minutes. `array_helpers()` swaps in versions with the same
results that fill a zero vector, add each map's matrix into its rows and columns, and write the
discretising layer's weights as arrays, while a model is built (tracr calls them through its
classes and module; the originals are put back on exit). `tests/test_compiler_graph.py` holds
all three equal to tracr's.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
from tracr.craft import bases, vectorspace_fns
from tracr.craft.chamber import numerical_mlp
from tracr.utils import errors


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


def discretising_layer(input_value_set: Iterable[float], f: Callable[[float], Any], hidden_name: bases.Name,
                       one_direction: bases.BasisDirection,
                       large_number: float) -> numerical_mlp.DiscretisingLayerMaterials:
    """tracr's `_get_discretising_layer`: a hidden `start` direction, then two per threshold
    between consecutive input values, (k, 0) = ReLU(L (x - t_k) + 1) and (k, 1) = ReLU(L (x - t_k));
    its action writes those weights as arrays (tracr adds them one basis vector at a time)."""
    output_values, sorted_values = [], []
    for x in sorted(input_value_set):
        res = errors.ignoring_arithmetic_errors(f)(x)
        if res is not None:
            output_values.append(res)
            sorted_values.append(x)
    thresholds = np.array([(a + b) / 2 for a, b in zip(sorted_values, sorted_values[1:])], dtype=np.float64)
    start = bases.BasisDirection(f"{hidden_name}start")
    hidden_space = bases.VectorSpaceWithBasis(
        [start] + [bases.BasisDirection(hidden_name, (k, i)) for k in range(1, len(sorted_values)) for i in (0, 1)])
    at = hidden_space.index_by_direction  # the space keeps its directions in its own order
    first, second = ([at[bases.BasisDirection(hidden_name, (k, i))] for k in range(1, len(sorted_values))]
                     for i in (0, 1))

    def action(direction: bases.BasisDirection) -> bases.VectorInBasis:
        magnitudes = np.zeros(hidden_space.num_dims)
        if direction == one_direction:  # the constant 1: the start, and each threshold's offsets
            magnitudes[at[start]] = 1.0
            magnitudes[first] = 1 - large_number * thresholds
            magnitudes[second] = -(large_number * thresholds)
        else:  # the input x, scaled by L into both of each threshold's directions
            magnitudes[first] = large_number
            magnitudes[second] = large_number
        return hidden_space.make_vector(magnitudes)

    return numerical_mlp.DiscretisingLayerMaterials(action=action, hidden_space=hidden_space,
                                                    output_values=output_values)


@contextmanager
def array_helpers() -> Iterator[None]:
    """tracr's craft with `vector_from_basis_direction`, `combine_in_parallel` and
    `discretising_layer` above."""
    space, linear = bases.VectorSpaceWithBasis, vectorspace_fns.Linear
    originals = (space.vector_from_basis_direction, linear.__dict__["combine_in_parallel"],
                 numerical_mlp._get_discretising_layer)
    space.vector_from_basis_direction = vector_from_basis_direction
    linear.combine_in_parallel = classmethod(lambda cls, fns: combine_in_parallel(fns))
    numerical_mlp._get_discretising_layer = discretising_layer
    try:
        yield
    finally:
        space.vector_from_basis_direction, linear.combine_in_parallel, numerical_mlp._get_discretising_layer = originals
