"""The programme report: what the line achieved in a period, for the ministry and UNHCR.

`build.build_report` runs grouped SQL (never a row per call in Python) and returns a
`model.Report` whose cells are counts, measures or suppressed markers; `suppression`
hides small cells; `csv.py` and `xlsx.py` write it; `service` audits producing and
downloading. Definitions: docs/programme-report.md.
"""
