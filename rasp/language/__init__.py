"""The language: names and checks, the graph builder, the batched interpreter, the library."""
