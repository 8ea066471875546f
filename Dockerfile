# The one Lambda image of orders-pipeline (arm64 / Graviton, Python 3.12).
# The function's image command picks the handler; the default is the reports handler.
#
# Built by scripts/build_and_push.sh (docker buildx --platform linux/arm64 --provenance=false).
# The base is pinned by tag: AWS republishes it with runtime patches. To freeze it for a
# release, append the digest that `docker buildx imagetools inspect <image>` prints.
FROM public.ecr.aws/lambda/python:3.12-arm64

# Dependencies first, in their own layer, so a code-only change rebuilds in seconds.
# requirements/lambda.txt is exported from uv.lock (exact versions + hashes; see
# tests/unit/test_dockerfile.py). Wheels only: the base image has no compiler, and
# tests/functional/test_wheels_arm64.py checks every pin has a manylinux aarch64 wheel.
COPY requirements/lambda.txt /tmp/requirements.txt
RUN pip install --no-cache-dir --disable-pip-version-check --require-hashes \
        --only-binary=:all: --target "${LAMBDA_TASK_ROOT}" -r /tmp/requirements.txt

COPY app/ ${LAMBDA_TASK_ROOT}/app/

CMD ["app.handlers.reports.handler"]
