#!/usr/bin/env bash
# The seed end-to-end suite (test/e2e/seed-happy-path.test.ts) against the whole system under docker
# compose, with time compressed as the suite compresses it when it starts the stack itself
# (docker-compose.e2e.yml). Works with Compose v2 (`docker compose`) and Debian's docker-compose 1.29.
#
#   test/e2e/compose-e2e.sh          build, start (or update) the stack, wait for it, run the suite
#   test/e2e/compose-e2e.sh --down   the same, then stop the stack (its volumes are kept)
#
# The stack stays up otherwise, and running the suite again on it works: each run's cluster has a name
# of its own. Needs Docker, Node 24 and `npm ci` (the suite runs on this machine, not in a container).
# Environment: COMPOSE picks the command ("docker compose" or "docker-compose"; by default the first
# that works); HF_E2E_KUBE_PORT and HF_E2E_PUBSUB_PORT publish the stand-in and the emulator elsewhere
# than 8080 and 8085 (on 127.0.0.1); HF_E2E_WAIT_SECONDS bounds the wait for health (default 300).
set -euo pipefail
cd "$(dirname "$0")/../.."

down=false
for arg in "$@"; do
  case "$arg" in
    --down) down=true ;;
    *) echo "usage: $0 [--down]" >&2; exit 2 ;;
  esac
done

if [ -n "${COMPOSE:-}" ]; then
  read -r -a compose <<<"$COMPOSE"
elif docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
  compose=(docker-compose)
else
  echo "$0: neither 'docker compose' nor 'docker-compose' is installed (Debian: apt-get install docker-compose)" >&2
  exit 1
fi
compose+=(-f docker-compose.yml -f docker-compose.e2e.yml)
export HF_E2E_KUBE_PORT="${HF_E2E_KUBE_PORT:-8080}" HF_E2E_PUBSUB_PORT="${HF_E2E_PUBSUB_PORT:-8085}"

# Postgres's password, made once as docs/running.md says (compose.env.example).
if [ ! -f .env ]; then
  printf 'POSTGRES_PASSWORD=%s\nHYPERFLEET_USER=user:%s\n' "$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')" "${USER:-local}" > .env
  echo "created .env (a random POSTGRES_PASSWORD; compose.env.example)"
fi

echo "== ${compose[*]} up -d --build"
"${compose[@]}" up -d --build

# `up` returns once every service has started; the Sentinel starts last (after the API is healthy),
# and is healthy once it has polled the API.
health() {
  local id
  id="$("${compose[@]}" ps -q "$1")"
  [ -n "$id" ] && docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id"
}
deadline=$((SECONDS + ${HF_E2E_WAIT_SECONDS:-300}))
for service in credentials api kube sentinel; do
  until [ "$(health "$service" || true)" = healthy ]; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "$0: $service is not healthy ($(health "$service" || echo 'no container'))" >&2
      "${compose[@]}" ps >&2
      "${compose[@]}" logs --tail=40 >&2
      exit 1
    fi
    sleep 2
  done
done
echo "== healthy"

status=0
HF_E2E_API_URL=http://127.0.0.1:8000 \
HF_E2E_KUBE_URL="http://127.0.0.1:$HF_E2E_KUBE_PORT" \
PUBSUB_EMULATOR_HOST="127.0.0.1:$HF_E2E_PUBSUB_PORT" \
HF_E2E_MAX_AGE_READY_MS=8000 \
HF_E2E_TOKEN="$("${compose[@]}" exec -T credentials cat /issuer/tokens/user.token)" \
  npm test -- test/e2e/seed-happy-path || status=$?

if [ "$status" -ne 0 ]; then "${compose[@]}" logs --tail=60 sentinel validation dns placement api >&2 || true; fi
if [ "$down" = true ]; then
  "${compose[@]}" down
else
  echo "the stack is still up: ${compose[*]} down stops it"
fi
exit "$status"
