#!/usr/bin/env bash
# The demo: the sample edition to the sample subscribers, on embedded defaults.
#
# No server is needed: the database is a SQLite file, the broker is kombu's
# SQLAlchemy transport on its own SQLite file, and the relay is an outbox folder
# (one .eml per message). The worker is the same Celery worker, with the same
# task code, as in production; the demo starts one process and stops it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

DEMO=var/demo
rm -rf "$DEMO"
mkdir -p "$DEMO"
export DISPATCHER_DEMO=1
export DATABASE_URL="sqlite:///$DEMO/dispatcher.sqlite"
export BROKER_URL="sqla+sqlite:///$DEMO/broker.sqlite"
export SMTP_URL="file://$PWD/$DEMO/outbox"
export OUTBOX_IS_DELIVERY=1  # here the outbox is the relay: a file written is a delivery
export PUBLIC_URL="${PUBLIC_URL:-http://127.0.0.1:8000}"
export RECONCILE_INTERVAL=1
# The demo sends at once whenever it is run: the office's sending hours and holidays off.
export SENDING_HOURS="${SENDING_HOURS:-00:00-24:00}" NATIONAL_HOLIDAYS="${NATIONAL_HOLIDAYS:-0}"
PATH="$PWD/.venv/bin:$PATH"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step dispatcher db upgrade
step dispatcher lists create cronache "Cronache da Palazzo Cisterna" --settings examples/cronache.toml
step dispatcher subscribers import examples/subscribers.csv --list cronache --confirmed
printf '\n\033[1m$ dispatcher editions add examples/cronache-da-palazzo-cisterna.md\033[0m\n'
EDITION=$(dispatcher editions add examples/cronache-da-palazzo-cisterna.md)
echo "$EDITION"
step dispatcher editions preview "$EDITION" --out "$DEMO/preview"

printf '\n\033[1m$ celery -A worker worker -B -c 1 &\033[0m\n'
celery -A worker worker -B -c 1 --pool prefork -l WARNING -s "$DEMO/beat-schedule" \
  >"$DEMO/worker.log" 2>&1 &
WORKER=$!
trap 'kill -TERM $WORKER 2>/dev/null; wait $WORKER 2>/dev/null || true' EXIT

step dispatcher send "$EDITION" --list cronache --now --wait
step dispatcher status
kill -TERM $WORKER; wait $WORKER 2>/dev/null || true
trap - EXIT

echo
echo "The messages are in $DEMO/outbox ($(ls "$DEMO/outbox" | wc -l) files);"
echo "the preview is in $DEMO/preview (edition.html, edition.txt, sample.eml)."
