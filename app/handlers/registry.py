"""Lambda entry point for the registry function (the image's CMD).

Configuration is read and validated once, here at import; the work lives in
pipelines/file_registry.
"""

from app.core.settings import RegistrySettings
from app.pipelines.file_registry.function import make_handler

handler = make_handler(RegistrySettings.from_env())
