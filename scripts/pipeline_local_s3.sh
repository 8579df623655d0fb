#!/usr/bin/env bash
# The toy pipeline into a local S3 server, then sampling the published model by URL in a second process.
#
#   bash scripts/pipeline_local_s3.sh            (or: make pipeline-s3, which first runs make setup)
#
# 1. starts moto's S3 server (`moto_server`, the dev extra) on 127.0.0.1 on a free port; nothing listens
#    on another interface and no request leaves the machine;
# 2. creates the bucket with boto3 (no AWS CLI needed);
# 3. runs `gen3d pipeline $PIPELINE --registry s3://$BUCKET/registry` (prepare -> fit -> sample -> evaluate
#    -> render -> export -> publish; the render step needs Open3D's offscreen renderer, see `make setup`);
# 4. runs `gen3d sample --model s3://$BUCKET/registry/$NAME` in a new process, and `gen3d models`;
# 5. stops the server on exit (also on an error or Ctrl-C).
#
# Settings (environment): PIPELINE (default demo), NAME (the pipeline's publish.name, default demo-edm),
# WORK (work folder, default runs/pipeline_local_s3: a second run skips every step but publish),
# BUCKET (default gen3d-models), VENV (default .venv). The server keeps its objects in memory: the registry
# is gone when the script ends; the samples drawn by URL stay in $WORK/sampled_by_url.npz.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY=$VENV/bin/python
PIPELINE=${PIPELINE:-demo}
NAME=${NAME:-demo-edm}
WORK=${WORK:-runs/pipeline_local_s3}
BUCKET=${BUCKET:-gen3d-models}
for exe in "$PY" "$VENV/bin/gen3d" "$VENV/bin/moto_server"; do
    [[ -x $exe ]] || { echo "pipeline_local_s3: $exe not found: run make setup first" >&2; exit 2; }
done
mkdir -p "$WORK"

PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >"$WORK/moto_server.log" 2>&1 &
MOTO_PID=$!
stop_server() {
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
    echo "pipeline_local_s3: S3 server on port $PORT stopped"
}
trap stop_server EXIT

# the store's endpoint and test credentials, for this script's processes only
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL_S3 FSSPEC_S3 FSSPEC_S3_ENDPOINT_URL
export AWS_ENDPOINT_URL=http://127.0.0.1:$PORT AWS_ACCESS_KEY_ID=gen3d-local AWS_SECRET_ACCESS_KEY=gen3d-local
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true GEN3D_CACHE_DIR=$WORK/model_cache
# CPU training speed, as the Makefile sets it (keep large activation buffers mapped)
export MALLOC_MMAP_MAX_=${MALLOC_MMAP_MAX_:-0} MALLOC_TRIM_THRESHOLD_=${MALLOC_TRIM_THRESHOLD_:-100000000000}

"$PY" - "$BUCKET" "$MOTO_PID" <<'EOF'
import os, sys, time, urllib.request

import boto3

bucket, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 30
while True:  # the server takes a second or two to listen
    try:
        urllib.request.urlopen(os.environ["AWS_ENDPOINT_URL"], timeout=1)
        break
    except OSError:
        if time.monotonic() > deadline or not os.path.exists(f"/proc/{pid}"):
            sys.exit("pipeline_local_s3: moto_server did not start (see moto_server.log in the work folder)")
        time.sleep(0.2)
boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"]).create_bucket(Bucket=bucket)
print(f"pipeline_local_s3: S3 server {os.environ['AWS_ENDPOINT_URL']}, bucket s3://{bucket}")
EOF

start=$SECONDS
"$VENV/bin/gen3d" pipeline "$PIPELINE" --work-dir "$WORK" --registry "s3://$BUCKET/registry"
echo "pipeline_local_s3: pipeline took $((SECONDS - start)) s"

start=$SECONDS
"$VENV/bin/gen3d" sample --model "s3://$BUCKET/registry/$NAME" --n 4 --steps 4 \
    --out "$WORK/sampled_by_url.npz"
"$VENV/bin/gen3d" models "s3://$BUCKET/registry"
echo "pipeline_local_s3: sampling by URL in a new process took $((SECONDS - start)) s"
