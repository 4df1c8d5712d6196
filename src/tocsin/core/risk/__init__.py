"""Composite risk indices as configuration: model types, evaluation, classes, roll-up, scenarios.

Modules: `model` (frozen model types and validation), `expressions` (the safe expression
language), `kernels` (compiled normalisation, aggregation and Excel-exact rounding), `evaluate`
(all regions at once, with coverage), `classes` (thresholds, ranks, the view for warnings),
`explain` (contributions), `rollup` (region hierarchy), `scenarios` (what-if), `table`.
"""
