"""The DynamoDB tables of the applied stack (-files, the file registry; -rows, the table
loader; -transactions, the transactions stream): keys as design.md's contracts say, on-demand,
encrypted with the stack's key, point-in-time recovery on, deletion protection off by default
(so destroy.sh can tear down)."""

from __future__ import annotations

import pytest

from tests.infra.conftest import PREFIX, AppliedStack

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("terraform")]

TABLES = {
    "files_table": (f"{PREFIX}-files", [("FileName", "HASH", "S")]),
    "rows_table": (f"{PREFIX}-rows", [("source", "HASH", "S"), ("row", "RANGE", "N")]),
    "transactions_table": (f"{PREFIX}-transactions", [("order_id", "HASH", "S")]),
}


@pytest.mark.parametrize("output", sorted(TABLES))
def test_table_keys_billing_encryption_and_recovery(stack: AppliedStack, output: str) -> None:
    name, keys = TABLES[output]
    assert stack.outputs[output] == name
    dynamodb = stack.moto.client("dynamodb")
    table = dynamodb.describe_table(TableName=name)["Table"]
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    assert [
        (k["AttributeName"], k["KeyType"], types[k["AttributeName"]]) for k in table["KeySchema"]
    ] == keys
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    sse = table["SSEDescription"]
    assert (sse["Status"], sse["SSEType"]) == ("ENABLED", "KMS")
    assert sse["KMSMasterKeyArn"] == stack.outputs["kms_key_arn"]
    assert table.get("DeletionProtectionEnabled", False) is False
    backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
