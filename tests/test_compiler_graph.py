"""The compiler's replacements for tracr's graph walks and weight assembly equal tracr's own, and
programs whose sub-expressions are shared many times over compile (tracr's walks are exponential
in them)."""

from __future__ import annotations

import random

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tracr.compiler import craft_graph_to_model, craft_model_to_transformer, nodes, rasp_to_graph
from tracr.rasp import rasp as tr

from compiler import assemble, compile_program, lower, tracr_graph
from compiler.runner import Runner
from rasp.language.program import from_text, load_program

PROGRAMS = {"hist": (list("abc"), 5), "sort": (list("abc"), 5), "copy": (list("abcd|"), 5),
            "dyck1": (list("()"), 6), "frac_prevs": (list("xa"), 5), "count": ([0, 1, 2, 3], 6),
            "sort_unique": ([1, 2, 3, 4], 4)}


def lowered_sink(name: str):
    vocab, max_len = PROGRAMS[name]
    return lower.lower(load_program(name).output, vocab, max_len)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_extract_builds_tracrs_graph(name):
    sink = lowered_sink(name).sink
    ours, theirs = tracr_graph.extract(sink), rasp_to_graph.extract_rasp_graph(sink)
    assert set(ours.graph.nodes) == set(theirs.graph.nodes)
    assert set(ours.graph.edges) == set(theirs.graph.edges)
    assert all(ours.graph.nodes[n][nodes.EXPR] is theirs.graph.nodes[n][nodes.EXPR] for n in ours.graph.nodes)
    assert ours.sink[nodes.ID] == theirs.sink[nodes.ID]
    assert sorted(s[nodes.ID] for s in ours.sources) == sorted({s[nodes.ID] for s in theirs.sources})


def random_graph(rng: random.Random, size: int) -> tuple[nx.DiGraph, list[str]]:
    """A random DAG of tracr expressions: some nodes s-ops, some selectors, 1-3 sources."""
    graph = nx.DiGraph()
    names = [f"n{k}" for k in range(size)]
    sources = names[:rng.randint(1, 3)]
    for k, name in enumerate(names):
        expr = tr.tokens if rng.random() < 0.7 else tr.Select(tr.tokens, tr.tokens, tr.Comparison.EQ)
        graph.add_node(name, **{nodes.ID: name, nodes.EXPR: expr})
        if name not in sources:
            for parent in rng.sample(names[:k], min(k, rng.randint(1, 3))):
                graph.add_edge(parent, name)
    graph.add_node("alone", **{nodes.ID: "alone", nodes.EXPR: tr.tokens})  # no source reaches it
    return graph, sources


@pytest.mark.parametrize("seed", range(20))
def test_computational_depth_equals_tracrs(seed):
    graph, sources = random_graph(random.Random(seed), 14)
    assert tracr_graph.computational_depth(graph, sources) == \
        craft_graph_to_model.compute_computational_depth(graph, sources)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_weights_equal_tracrs_assembly_array_by_array(name):
    vocab, max_len = PROGRAMS[name]
    program = load_program(name)
    lowered = lower.lower(program.output, vocab, max_len)
    extracted = assemble.extract(lowered)
    target = assemble.Target(vocab, max_len, program.causal)
    built = assemble.assemble(extracted, lowered, target)
    ours = built.model
    theirs = craft_model_to_transformer.craft_model_to_transformer(
        craft_model=built.craft, graph=extracted.graph, sink=extracted.sink, max_seq_len=max_len,
        compiler_bos=ours.bos, compiler_pad=ours.pad, causal=program.causal)
    assert ours.residual_labels == theirs.residual_labels
    assert ours.input_encoder.encoding_map == theirs.input_encoder.encoding_map
    assert set(ours.params) == set(theirs.params)
    scale = np.sqrt(ours.model_config.key_size)  # assemble undoes tracr's 1/sqrt(key size) on queries
    for module, arrays in theirs.params.items():
        for part, array in arrays.items():
            expected = np.asarray(array) * (scale if module.endswith("/attn/query") else 1.0)
            np.testing.assert_allclose(ours.params[module][part], expected, atol=1e-6, err_msg=f"{module}/{part}")


def test_a_chain_of_shared_sub_expressions_compiles_exactly():
    """40 lines of `x = x and x`: 2^40 paths through the graph, 42 nodes; tracr's walks would
    never finish. Every line is a map of the tokens alone, so the chain is one table."""
    text = "\n".join(['x = tokens == "a";'] + ["x = x and x;"] * 40 + ["out = x;"])
    program = from_text(text, path="chain.rasp")
    result = compile_program(program, list("ab"), 4, samples=16)
    batch = [list("abba"), list("b"), list("aa")]
    assert Runner(result.model).run(batch) == program.run(batch)
    assert result.model.num_layers == 1 and [p.name for p in result.model.meta.sops] == ["x"]


def test_a_chain_of_maps_over_two_s_ops_is_one_table_and_stays_exact():
    """`indicator(tokens == "x")` and a longer chain over tokens and indices each take one MLP;
    a map over three s-ops, or whose table would outgrow the unfused ones, is not fused."""
    one = compile_program(from_text('x = indicator(tokens == "x");', path="i.rasp"), list("xa"), 5)
    assert one.model.num_layers == 1 and one.verification.exhaustive
    text = 'a = tokens == "x";\nb = indices + 1;\nc = (a and b > 2) or not a;\nout = c == (b % 2 == 0);'
    program = from_text(text, path="chain.rasp")
    two = compile_program(program, list("xyz"), 5)
    assert two.model.num_layers == 1 and two.verification.exhaustive
    assert [p.name for p in two.model.meta.sops] == ["out"]
    three = 'w = length;\nout = (tokens == "x") and (indices < w) and (indices > 0);'
    placed = compile_program(from_text(three, path="three.rasp"), list("xy"), 5).model.meta.sops
    assert "out" in [p.name for p in placed] and len(placed) > 2  # three leaves: tokens, indices, length
    big = 'a = aggregate(select(indices, indices, ==), tokens, "0");\nb = aggregate(select(indices, indices, >), tokens, "0");\nout = (a == "1") or (b == "1");'
    vocab = [str(i) for i in range(70)]
    names = [p.name for p in compile_program(from_text(big, path="big.rasp"), vocab, 3, verify=False).model.meta.sops]
    assert "out" in names and len(names) >= 4  # a x b would be 4,900 entries; fused it is not


def test_tracrs_own_model_of_the_same_blocks_agrees():
    result = compile_program(load_program("hist"), list("abc"), 5, verify=False)
    theirs = result.model.tracr()
    bos = result.model.meta.bos
    for tokens in (list("abca"), list("c"), list("bbbbb")):
        assert theirs.apply([bos, *tokens]).decoded[1:] == Runner(result.model).run([tokens])[0]


def test_a_head_wider_in_its_values_than_in_its_keys_compiles():
    """count over 8 tokens: one head's value-output matrix is wider than every query-key matrix,
    which tracr's assembler does not make room for (a broadcast error)."""
    import itertools

    program = load_program("count")
    vocab = list(range(8))
    result = compile_program(program, vocab, 4, samples=32)
    batch = [list(x) for n in (1, 2, 3) for x in itertools.product(vocab, repeat=n)]
    assert Runner(result.model).run(batch) == program.run(batch)


def test_saved_models_are_compressed_atomic_and_count_their_non_zeros(tmp_path):
    import zipfile

    from compiler import model as saved
    from compiler import report

    result = compile_program(load_program("sort"), list("abc"), 6, verify=False)
    path = tmp_path / "sort.npz"
    saved.save(result.model, path)
    assert [p.name for p in tmp_path.iterdir()] == ["sort.npz"]  # no temporary file left beside it
    with zipfile.ZipFile(path) as archive:
        assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in archive.infolist())
    stored = sum(a.nbytes for a in result.model.arrays.values())
    assert path.stat().st_size < stored / 3
    shown = report.as_dict(result)
    nonzero = sum(int(np.count_nonzero(a)) for a in result.model.arrays.values())
    assert shown["nonzero_parameters"] == nonzero < shown["parameters"]
    helpers = [row for row in shown["sops"] if row["helper"]]
    assert helpers and helpers[0]["helper"] == "pairing" and helpers[0]["residual_dims"]
    assert helpers[0]["line"] == 4  # the composite selector's line, which the pairing serves
    assert saved.load(path).meta == result.model.meta


def test_a_compile_says_each_pass_as_it_starts():
    said: list[str] = []
    compile_program(load_program("hist"), list("abc"), 4, samples=8, progress=said.append)
    assert [text.split(" ")[0] for text in said] == ["lowering", "building", "placing", "filling", "collecting", "checking"]
    assert "estimated" in said[1] and "parameters" in said[1]


def test_array_helpers_equal_tracrs_own():
    """`compiler.tracr_arrays` gives tracr's results: unit vectors, and parallel linear maps over
    overlapping spaces summed where they meet."""
    from tracr.craft import bases, vectorspace_fns

    from compiler import tracr_arrays

    rng = np.random.default_rng(0)
    space = bases.VectorSpaceWithBasis.from_values("x", range(7))
    for d in space.basis:
        assert tracr_arrays.vector_from_basis_direction(space, d) == space.vector_from_basis_direction(d)
    spaces = [bases.VectorSpaceWithBasis.from_values(name, values)
              for name, values in (("a", range(3)), ("b", range(4)), ("a", range(2, 6)), ("c", [0]))]
    fns = [vectorspace_fns.Linear(spaces[i], spaces[j], rng.normal(size=(spaces[i].num_dims, spaces[j].num_dims)))
           for i, j in ((0, 1), (2, 1), (1, 3), (2, 0))]
    ours = tracr_arrays.combine_in_parallel(fns)
    theirs = vectorspace_fns.Linear.combine_in_parallel(fns)
    assert ours.input_space == theirs.input_space and ours.output_space == theirs.output_space
    assert np.allclose(ours.matrix, theirs.matrix)
    def helpers() -> tuple:
        return (vectorspace_fns.Linear.__dict__["combine_in_parallel"],
                bases.VectorSpaceWithBasis.vector_from_basis_direction, bases.join_vector_spaces)

    before, heard, joined = helpers(), [], bases.join_vector_spaces(*spaces)
    with tracr_arrays.array_helpers(heard.append):
        assert bases.VectorSpaceWithBasis.vector_from_basis_direction is tracr_arrays.vector_from_basis_direction
        assert np.allclose(vectorspace_fns.Linear.combine_in_parallel(fns).matrix, theirs.matrix)
        assert bases.join_vector_spaces(*spaces).basis == joined.basis
    assert heard and heard[0].startswith("combining 4 blocks")
    assert helpers() == before  # the originals are back


_values = st.one_of(st.none(), st.integers(-3, 3), st.sampled_from(["a", "b"]), st.tuples(st.integers(0, 2), st.integers(0, 1)))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.tuples(st.sampled_from(["h", "one", "x:start"]), _values), max_size=8), min_size=1, max_size=4))
def test_the_keyed_join_of_vector_spaces_equals_tracrs(spaces):
    """Directions of one name with values of several types (which `BasisDirection.__lt__`
    orders by their strings) included: the same directions in the same order as tracr's join."""
    from tracr.craft import bases

    from compiler import tracr_arrays

    spaces = [bases.VectorSpaceWithBasis([bases.BasisDirection(n, v) for n, v in dict.fromkeys(space)])
              for space in spaces]
    assert tracr_arrays.join_vector_spaces(*spaces).basis == bases.join_vector_spaces(*spaces).basis
    for space in spaces:  # a space's own sort, as `VectorSpaceWithBasis.__post_init__` does it
        shuffled = bases.VectorSpaceWithBasis(space.basis[::-1])
        tracr_arrays.sort_basis(shuffled)
        assert shuffled.basis == bases.VectorSpaceWithBasis(space.basis[::-1]).basis


@settings(max_examples=25, deadline=None)
@given(st.sets(st.fractions(-3, 3, max_denominator=12), min_size=1, max_size=30), st.sampled_from([10.0, 100.0]),
       st.sampled_from([lambda v: v > 0.5, lambda v: round(v), lambda v: "neg" if v < 0 else "pos"]))
def test_the_array_numerical_to_categorical_mlp_equals_tracrs(values, large, f):
    """Both layers, number for number, and the spaces, in the same order."""
    from tracr.craft import bases
    from tracr.craft.chamber import numerical_mlp

    from compiler import tracr_arrays

    values = {float(v) for v in values}
    outputs = sorted({f(v) for v in values}, key=repr)
    spaces = dict(input_space=bases.VectorSpaceWithBasis([bases.BasisDirection("x")]),
                  output_space=bases.VectorSpaceWithBasis.from_values("y", outputs),
                  one_space=bases.VectorSpaceWithBasis([bases.BasisDirection("one")]))
    ours = tracr_arrays.numerical_to_categorical_mlp(f, input_value_set=values, large_number=large, hidden_name="h",
                                                     **spaces)
    theirs = numerical_mlp.map_numerical_to_categorical_mlp(f, input_value_set=values, large_number=large,
                                                            hidden_name="h", **spaces)
    for a, b in ((ours.fst, theirs.fst), (ours.snd, theirs.snd)):
        assert a.input_space == b.input_space and a.output_space == b.output_space
        assert np.array_equal(a.matrix, b.matrix)


@settings(max_examples=25, deadline=None)
@given(st.sets(st.fractions(-3, 3, max_denominator=12), min_size=1, max_size=30), st.sampled_from([10.0, 100.0, 1e4]))
def test_the_array_discretising_layer_equals_tracrs(values, large):
    """The discretising MLP's first layer (numerical to categorical, numerical to numerical) as
    arrays gives tracr's hidden space, output values and weights, number for number."""
    from tracr.craft import bases
    from tracr.craft.chamber import numerical_mlp

    from compiler import tracr_arrays

    values = {float(v) for v in values}
    one, x = bases.BasisDirection("one"), bases.BasisDirection("x")
    f = lambda v: v > 0.5
    ours = tracr_arrays.discretising_layer(values, f, "h", one, large)
    theirs = numerical_mlp._get_discretising_layer(values, f, "h", one, large)
    assert ours.hidden_space == theirs.hidden_space and ours.output_values == theirs.output_values
    for direction in (one, x):
        assert np.array_equal(ours.action(direction).magnitudes, theirs.action(direction).magnitudes)


@pytest.mark.parametrize("text", [
    'earlier = select(tokens, tokens, <) or (select(tokens, tokens, ==) and select(indices, indices, <));\n'
    'out = selector_width(earlier);',
    'pick = not (select(tokens, "b", ==) or select(indices, indices, >));\nout = selector_width(pick);',
    'pick = select(indices, indices, ==) and not select(tokens, tokens, !=);\nout = aggregate(pick, tokens, "a");',
])
def test_a_selectors_matrix_equals_its_predicate_pair_by_pair(text):
    """The whole comparison at once (`SelectorPredicate.matrix`) is the predicate on every pair,
    values outside the tables (as BOS is) included."""
    from compiler.selectors import SelectorPredicate

    program = from_text(text, path="sel.rasp")
    lowered = lower.lower(program.output, list("abc"), 5)
    extracted = assemble.extract(lowered)
    selects = [n[nodes.EXPR] for n in extracted.graph.nodes.values() if isinstance(n[nodes.EXPR], tr.Select)]
    assert selects
    for select in selects:
        predicate = select.predicate
        assert isinstance(predicate, SelectorPredicate)
        keys = list(lowered.info[select.keys.label].values) + ["<bos>", ("z", 99)]
        queries = list(lowered.info[select.queries.label].values) + ["<bos>"]
        matrix = predicate.matrix(keys, queries)
        assert matrix.shape == (len(queries), len(keys))
        assert matrix.tolist() == [[predicate(k, q) for k in keys] for q in queries]


def test_a_map_read_in_the_other_encoding_is_its_table_again_not_a_conversion():
    """tracr's pair balance: the indicators feed numerical means, so their tables write numbers
    directly; 2 layers, as tracr's own `make_pair_balance`, where a conversion MLP made 3."""
    text = ('# rasp: causal\nprevs = select(indices, indices, <=);\n'
            'opens = numerical(aggregate(prevs, indicator(tokens == "("), 0));\n'
            'closes = numerical(aggregate(prevs, indicator(tokens == ")"), 0));\nbalance = opens - closes;')
    result = compile_program(from_text(text, path="balance.rasp"), list("()"), 6, causal=True)
    assert result.model.num_layers == 2 and result.verification.exhaustive
    assert not [p for p in result.model.meta.sops if p.helper == "conversion"]


@pytest.mark.parametrize("text", [
    "out = numerical(tokens + indices);",
    'x = numerical(indicator(tokens == 1 and indices > 1));\ny = numerical(aggregate(select(indices, indices, <=), x, 0));',
])
def test_a_numerical_table_of_two_s_ops_compiles_exactly(text):
    """tracr's two-input table writes categories; a numerical one is that table, then a lookup
    to the number (the compiled model used to give 0.0 where the interpreter gives 1)."""
    result = compile_program(from_text(text, path="numerical.rasp"), [0, 1, 2], 5)
    assert result.verification.exhaustive


def test_a_chain_of_maps_is_tabulated_once_per_map(monkeypatch):
    """Each map of a 300-long chain is one table read off the one before it: the language's
    operations run a number of times linear in the chain (it was quadratic: every map re-ran the
    whole chain behind it), and the model is exact."""
    from rasp.language import semantics

    calls = 0
    real = semantics.apply_map

    def counted(node, args):
        nonlocal calls
        calls += 1
        return real(node, args)

    monkeypatch.setattr(semantics, "apply_map", counted)
    text = "x0 = tokens_int;\n" + "".join(f"x{i} = x{i - 1} + 1;\n" for i in range(1, 300))
    program = from_text(text)
    result = compile_program(program, [1, 2], 3)
    assert calls < 20 * 300, calls
    assert result.verification.exhaustive
    assert Runner(result.model).run([[1, 2, 1]]) == [[300, 301, 300]]


def test_a_vocabulary_of_mixed_types_is_a_positioned_refusal():
    from compiler import CompileError

    with pytest.raises(CompileError) as info:
        compile_program(load_program("sort"), [1, "a"], 3)
    assert "cannot compare" in info.value.message and "one type" in info.value.message
    assert info.value.span is not None and info.value.span.line == 4


@pytest.mark.parametrize("name, vocab, max_len", [
    ("sort", "abc", 6), ("reverse", "abc", 8), ("hist", "abc", 8), ("dyck1", "()", 12), ("majority", "01", 8),
    ("frac_prevs", "xa", 6), ("mode", "abc", 6), ("count", "0123", 6), ("parity", "01", 8), ("dyck2", "(){}", 4),
    ("sort_ar", "01234567", 8)])
def test_the_estimate_counts_the_layers_tracr_allocates(name, vocab, max_len):
    """The size estimate, made before any block is built, counts the layers of the model built,
    its residual stream exactly, and its parameters to within 15% (biases and the unembedding
    included; exact for most; mode's is 0.89 of the built, one of its MLPs counted short)."""
    result = compile_program(load_program(name), list(vocab), max_len, verify=False)
    assert result.estimate.layers == result.model.num_layers
    assert result.estimate.residual_width == result.model.meta.layout.residual_width
    assert 0.85 <= result.estimate.parameters / result.model.parameter_count() <= 1.1
