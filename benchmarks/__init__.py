"""Speed and memory benchmarks for the caseworks cases (see ``__main__``)."""
