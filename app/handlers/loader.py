"""Lambda entry point for the table loader function (the image's CMD).

Configuration is read and validated once, here at import; the work lives in
pipelines/table_loader.
"""

from app.core.settings import LoaderSettings
from app.pipelines.table_loader.function import make_handler

handler = make_handler(LoaderSettings.from_env())
