"""Reports: run the parameterized report notebook with papermill and export standalone HTML.

``weaver report`` (see :mod:`weaver.reports.cli`) is the command line; :func:`run_report`
does the work; :mod:`weaver.reports.notebook` holds the helpers the report notebook calls.
Papermill and nbconvert are imported only when a report runs.
"""

from weaver.reports.runner import DEFAULT_NOTEBOOK, Report, ReportError, export_html, run_report

__all__ = ["DEFAULT_NOTEBOOK", "Report", "ReportError", "export_html", "run_report"]
