"""The benchmark of issue 7: `changetrail bench --profile S|M|L|XL` (benchmarks/README.md)."""
