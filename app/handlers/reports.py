"""Lambda entry point for the reports function (the image's CMD).

Configuration is read and validated once, here at import; the work lives in app.service.
"""

from app.aws.reports_function import make_handler
from app.config import Settings

handler = make_handler(Settings.from_env())
