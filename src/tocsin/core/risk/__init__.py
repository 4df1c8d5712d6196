"""Composite risk indices as configuration: model types, evaluation, classes, roll-up, scenarios.

Modules: `model` (frozen model types and validation), `expressions` (the safe expression
language), `kernels` (compiled normalisation, aggregation and Excel-exact rounding;
`kernels_numpy` the same in numpy, `kernel_rows` what both read from their argument rows),
`evaluate` (all regions at once, with coverage), `classes` (thresholds, ranks, the view for
warnings), `explain` (contributions), `rollup` (region hierarchy), `scenarios` (what-if), `table`.
"""
