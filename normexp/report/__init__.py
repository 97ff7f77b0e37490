"""Report: statistics, tables, figures, REPORT.md and the claims page, from the store alone.

``study_report.build_report(out, study)`` and ``claims_page``; never imports config or the
engine, so any results folder can be re-reported.
"""
