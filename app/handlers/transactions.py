"""Lambda entry point for the transactions function (image command
`app.handlers.transactions.handler`).

Configuration is read and validated once, here at import; the work lives in
pipelines/transactions.
"""

from app.core.settings import TransactionsSettings
from app.pipelines.transactions.function import make_handler

handler = make_handler(TransactionsSettings.from_env())
