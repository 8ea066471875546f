"""Lambda entry point for the reports function (the image's CMD).

Configuration is read and validated once, here at import; the work lives in
pipelines/reports.
"""

from app.core.settings import ReportsSettings
from app.pipelines.reports.function import make_handler

handler = make_handler(ReportsSettings.from_env())
