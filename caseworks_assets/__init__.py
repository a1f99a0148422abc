"""caseworks: six data-engineering cases as one Dagster code location."""
