"""scripts/destroy.sh on the shared stack, after every other test (conftest orders it last):
the buckets hold more than 1,000 object versions and delete markers, more than one
DeleteObjects request may carry (AWS refuses more than 1,000 keys; moto does not, so a shim in
front of the real aws CLI refuses as AWS would), and everything must go."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from botocore.exceptions import ClientError

from tests.infra.conftest import REGION, ROOT, VENV_BIN, AppliedStack

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("terraform"), pytest.mark.stack_teardown]

# `aws` in front of the real CLI: refuses DeleteObjects batches above AWS's 1,000-key limit
# (with AWS's error), logs each batch's size, then runs the real command.
AWS_LIMIT_SHIM = """#!{python}
import json, os, sys
args = sys.argv[1:]
if "delete-objects" in args:
    source = args[args.index("--delete") + 1]
    with open(source.removeprefix("file://"), encoding="utf-8") as fh:
        n = len(json.load(fh)["Objects"])
    with open(os.environ["AWS_SHIM_LOG"], "a", encoding="utf-8") as log:
        log.write(f"{{n}}\\n")
    if n > 1000:
        sys.stderr.write("An error occurred (MalformedXML) when calling the DeleteObjects "
                         "operation: The XML you provided was not well-formed\\n")
        sys.exit(254)
os.execv({aws!r}, [{aws!r}, *args])
"""


def _fill(stack: AppliedStack, bucket: str, keys: int) -> int:
    """Two versions and a delete marker per key; returns how many entries that makes."""
    s3 = stack.moto.client("s3")
    for version in range(2):
        for i in range(keys):
            s3.put_object(Bucket=bucket, Key=f"bulk/{i:05d}.csv", Body=f"{version}".encode())
    for start in range(0, keys, 1000):
        chunk = [{"Key": f"bulk/{i:05d}.csv"} for i in range(start, min(keys, start + 1000))]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})
    return 3 * keys


def test_destroy_empties_versioned_buckets_in_batches_and_removes_everything(
    stack: AppliedStack, tmp_path_factory: pytest.TempPathFactory
) -> None:
    s3 = stack.moto.client("s3")
    o = stack.outputs
    # 700 versions + 350 delete markers: the versions alone fit in one batch, the markers on
    # top do not.
    filled = _fill(stack, o["input_bucket"], 350)
    listed = s3.list_object_versions(Bucket=o["input_bucket"])
    assert len(listed.get("Versions", [])) + len(listed.get("DeleteMarkers", [])) == 1000
    assert listed["IsTruncated"]

    tmp = tmp_path_factory.mktemp("teardown")
    shim = tmp / "bin" / "aws"
    shim.parent.mkdir()
    shim.write_text(AWS_LIMIT_SHIM.format(python=sys.executable, aws=str(VENV_BIN / "aws")))
    shim.chmod(0o755)
    env = {
        **stack.env,
        "PATH": os.pathsep.join([str(shim.parent), stack.env["PATH"]]),
        "AWS_SHIM_LOG": str(tmp / "batches.log"),
    }
    # moto 5.2.5 does not implement Athena's DeleteNamedQuery (the provider would retry it for
    # minutes): the saved query is left to moto, everything else is destroyed for real.
    stack.terraform(
        "state", "rm", "module.analytics.aws_athena_named_query.profit_by_region_by_day"
    )
    destroy = subprocess.run(
        [str(ROOT / "scripts" / "destroy.sh"), "--yes", "--region", REGION,
         "--owner", "infra-tests", "--stack-dir", str(stack.dir)],
        cwd=ROOT, env=env, text=True, capture_output=True, timeout=900, check=False,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    (tmp / "destroy.log").write_text(destroy.stdout + "\n----- stderr\n" + destroy.stderr)
    assert destroy.returncode == 0, destroy.stderr[-6000:]

    batches = [int(n) for n in (tmp / "batches.log").read_text().split()]
    assert max(batches) == 1000 and sum(batches) >= filled, batches
    emptied = re.search(
        rf"s3://{re.escape(o['input_bucket'])} is empty \((\d+) versions", destroy.stderr
    )
    assert emptied and int(emptied.group(1)) >= filled, destroy.stderr[-3000:]

    assert "Destroy complete!" in destroy.stderr
    state = json.loads(stack.terraform("show", "-json").stdout)
    assert not state.get("values", {}).get("root_module", {}).get("resources")
    assert not state.get("values", {}).get("root_module", {}).get("child_modules")
    for bucket in (
        o["input_bucket"],
        o["partner_feed_bucket"],
        o["output_bucket"],
        o["audit_bucket"],
    ):
        with pytest.raises(ClientError):
            s3.head_bucket(Bucket=bucket)
    with pytest.raises(ClientError):
        stack.moto.client("ecr").describe_repositories(repositoryNames=[o["ecr_repository_name"]])
    for function in (
        "function_name",
        "registry_function_name",
        "loader_function_name",
        "customer_feed_function_name",
        "transactions_function_name",
    ):
        with pytest.raises(ClientError):
            stack.moto.client("lambda").get_function(FunctionName=o[function])
    for table in ("files_table", "rows_table", "transactions_table"):
        with pytest.raises(ClientError):
            stack.moto.client("dynamodb").describe_table(TableName=o[table])
    for topic in ("landing_topic_arn", "alerts_topic_arn", "alarm_topic_arn"):
        with pytest.raises(ClientError):
            stack.moto.client("sns").get_topic_attributes(TopicArn=o[topic])
    with pytest.raises(ClientError):
        stack.moto.client("stepfunctions").describe_state_machine(
            stateMachineArn=o["state_machine_arn"]
        )
    key = stack.moto.client("kms").describe_key(KeyId=o["kms_key_arn"])["KeyMetadata"]
    assert key["KeyState"] == "PendingDeletion"
