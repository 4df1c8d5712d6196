"""Public alerts: CAP 1.2 (OASIS Common Alerting Protocol) messages drafted from warnings,
approved by a second person, published, and CAP messages of other agencies read in.

| module | what lives there |
| --- | --- |
| `message` | the CAP 1.2 alert as values (alert, info, area, resource), and their JSON form |
| `times` | CAP date-times (`2026-01-01T10:00:00-00:00`: offset always, no fractions, no `Z`) |
| `geometry` | CAP polygons and circles: parsing, simplifying to N points, validity, intersection |
| `areas` | regions as CAP areas (polygons and a geocode), and the regions a CAP area covers |
| `rules` | the checks the XSD cannot express, each named, each saying where |
| `templates` | the per-domain texts of configuration, with safe `{placeholders}` |
| `config` | the publishing and import configuration (`cap.yaml`), as values |
| `drafting` | a warning (or a hand-made request) as a CAP alert; updates, cancels, all-clears |
| `lifecycle` | the public alert record and its approval lifecycle (one transition table) |
| `subscribers` | who receives which published alert (area, hazard, level), as notifications |
| `imports` | other agencies' alerts: threads, levels, domains, the warnings they raise or lift |
"""
