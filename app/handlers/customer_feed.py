"""Lambda entry point for the customer-feed function (the image's CMD).

Configuration is read and validated once, here at import; the work lives in
pipelines/customer_feed.
"""

from app.core.settings import FeedSettings
from app.pipelines.customer_feed.function import make_handler

handler = make_handler(FeedSettings.from_env())
