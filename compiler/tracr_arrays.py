"""Six of tracr's craft helpers, done with array operations (or sorted in C).

tracr builds a basis vector as a row of a fresh identity matrix (`np.eye(n)[i]`: n² work for a
vector of n numbers), joins parallel linear maps by applying every map to every basis direction
of the joint space, one Python call each, and builds a discretising MLP's first layer (numerical
to categorical, or numerical to numerical) by adding one basis vector at a time per input value,
n² work for n values. With a pairing of 4,096 values (sort with ties at length 128 over 32
tokens) the first two run for minutes; dyck1 at length 32 discretises a 30,000-valued s-op and
the third ran for more than five minutes. Its second layer (numerical to categorical) is built by
one vector sum per hidden direction, 272,000 of them there. And every vector space sorts its
directions with a Python comparison method, joined spaces twice: seconds for those hidden spaces.
`array_helpers()` swaps in versions with the same results that fill a zero vector, add each map's
matrix into its rows and columns, write both layers of the discretising MLP as arrays, and sort
by key, while a model is built (tracr calls them through its classes and modules; the originals
are put back on exit). `tests/test_compiler_graph.py` holds each equal to tracr's.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
from tracr.craft import bases, transformers, vectorspace_fns
from tracr.craft.chamber import numerical_mlp
from tracr.utils import errors

from rasp.language.values import plural


def vector_from_basis_direction(space: bases.VectorSpaceWithBasis,
                                direction: bases.BasisDirection) -> bases.VectorInBasis:
    """The unit vector of `direction` in `space` (tracr's, without the identity matrix)."""
    magnitudes = np.zeros(space.num_dims)
    magnitudes[space.index_by_direction[direction]] = 1.0
    return space.make_vector(magnitudes)


def _name_and_value(direction: bases.BasisDirection) -> tuple[Any, Any]:
    """What `BasisDirection.__lt__` compares first, as a sort key."""
    return direction.name, direction.value


def join_vector_spaces(*spaces: bases.VectorSpaceWithBasis) -> bases.VectorSpaceWithBasis:
    """tracr's `join_vector_spaces` (the union of the directions, sorted), sorted by the (name,
    value) pairs its `BasisDirection.__lt__` compares, in C rather than one Python call per
    comparison, and from the spaces' own sorted lists (a set's order would cost a full sort: 0.6 s
    for 271,000 directions, with Python's interpreter lock held); where two pairs do not compare
    (tracr then compares the strings), tracr's own."""
    try:  # each space is sorted already: sorting their concatenation merges runs, then drop repeats
        directions = list(dict.fromkeys(sorted([d for space in spaces for d in space.basis], key=_name_and_value)))
    except TypeError:
        directions = sorted(set().union(*[set(space.basis) for space in spaces]))
    return bases.VectorSpaceWithBasis(directions)


def combine_in_parallel(fns: Sequence[vectorspace_fns.Linear]) -> vectorspace_fns.Linear:
    """The sum of linear maps on the joint input and output spaces (tracr's `combine_in_parallel`:
    each map acts on the part of the input in its own input space)."""
    joint_in = join_vector_spaces(*[fn.input_space for fn in fns])
    joint_out = join_vector_spaces(*[fn.output_space for fn in fns])
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


def numerical_to_categorical_mlp(f: Callable[[float], Any], input_space: bases.VectorSpaceWithBasis,
                                 output_space: bases.VectorSpaceWithBasis, input_value_set: Iterable[float],
                                 one_space: bases.VectorSpaceWithBasis, large_number: float = 100,
                                 hidden_name: bases.Name = "__hidden__") -> transformers.MLP:
    """tracr's `map_numerical_to_categorical_mlp`, its second layer written as an array: the
    `start` direction writes f's first value, threshold k's two directions add and subtract the
    change from value k-1 to value k (tracr builds each row as a vector sum, one call per row)."""
    bases.ensure_dims(input_space, num_dims=1, name="input_space")
    bases.ensure_dims(one_space, num_dims=1, name="one_space")
    input_space = bases.join_vector_spaces(input_space, one_space)
    column = {}
    for i, d in enumerate(output_space.basis):
        assert d.value is not None, "output directions need to encode possible output values"
        column[d.value] = i
    layer = numerical_mlp._get_discretising_layer(input_value_set=input_value_set, f=f, hidden_name=hidden_name,
                                                  one_direction=one_space.basis[0], large_number=large_number)
    assert set(layer.output_values).issubset(set(column)), (
        f"output value mismatch. output_values: {set(layer.output_values)}, vec_by_out_val: {set(column)}")
    first = vectorspace_fns.Linear.from_action(input_space, layer.hidden_space, layer.action)
    at, values = layer.hidden_space.index_by_direction, layer.output_values
    onehot = np.eye(output_space.num_dims)[[column[v] for v in values]]  # [values, outputs]
    change = onehot[1:] - onehot[:-1]  # value k minus value k-1, k = 1 ...
    second = np.zeros((layer.hidden_space.num_dims, output_space.num_dims))
    second[at[bases.BasisDirection(f"{hidden_name}start")]] = onehot[0]
    for i, sign in ((0, 1), (1, -1)):
        rows = [at[bases.BasisDirection(hidden_name, (k, i))] for k in range(1, len(values))]
        second[rows] = sign * change
    return transformers.MLP(first, vectorspace_fns.Linear(layer.hidden_space, output_space, second))


def sort_basis(space: bases.VectorSpaceWithBasis) -> None:
    """`VectorSpaceWithBasis.__post_init__`: its directions sorted, by (name, value) in C where
    they compare, else by tracr's `BasisDirection.__lt__` (as `join_vector_spaces` above)."""
    try:
        space.basis = sorted(space.basis, key=_name_and_value)
    except TypeError:
        space.basis = sorted(space.basis)


@contextmanager
def array_helpers(tick: Callable[[str], None] = lambda text: None) -> Iterator[None]:
    """tracr's craft with `vector_from_basis_direction`, `combine_in_parallel`,
    `discretising_layer`, `join_vector_spaces`, `numerical_to_categorical_mlp` and `sort_basis`
    above; `tick` hears each combination of a layer's blocks (where tracr's layer allocation spends
    its time)."""
    space, linear = bases.VectorSpaceWithBasis, vectorspace_fns.Linear
    originals = (space.vector_from_basis_direction, linear.__dict__["combine_in_parallel"],
                 numerical_mlp._get_discretising_layer, bases.join_vector_spaces,
                 numerical_mlp.map_numerical_to_categorical_mlp, space.__post_init__)

    def combine(cls: type, fns: Sequence[vectorspace_fns.Linear]) -> vectorspace_fns.Linear:
        tick(f"combining {plural(len(fns), 'block')} of one layer")
        return combine_in_parallel(fns)

    space.vector_from_basis_direction = vector_from_basis_direction
    linear.combine_in_parallel = classmethod(combine)
    numerical_mlp._get_discretising_layer = discretising_layer
    bases.join_vector_spaces = join_vector_spaces
    numerical_mlp.map_numerical_to_categorical_mlp = numerical_to_categorical_mlp
    space.__post_init__ = sort_basis
    try:
        yield
    finally:
        (space.vector_from_basis_direction, linear.combine_in_parallel, numerical_mlp._get_discretising_layer,
         bases.join_vector_spaces, numerical_mlp.map_numerical_to_categorical_mlp, space.__post_init__) = originals
