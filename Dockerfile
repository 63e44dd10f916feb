# syntax=docker/dockerfile:1
# One image, three roles by command: `serve` (HTTP), `worker` (jobs), `migrate` (one-shot).
#   docker build -t duality .
#   docker run --rm -e DATABASE_URL=postgres://… duality migrate
#   docker run -d -e DATABASE_URL=postgres://… -e MIGRATE_ON_START=false -p 3000:3000 duality serve
#   docker run -d -e DATABASE_URL=postgres://… -e MIGRATE_ON_START=false duality worker
# See docs/deployment.md. tests/ops/deployment-files.test.ts checks that every file this
# Dockerfile copies exists and that compose.yaml only runs commands the image has.

ARG NODE_VERSION=24.22.3

# ---- production dependencies only, from the lockfile -------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
# tsx stays a runtime dependency: the sources use TypeScript parameter properties,
# which Node's built-in type stripping cannot run, so the image runs them through tsx.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ---- the full install, to type-check the exact sources the image ships ----------------
FROM node:${NODE_VERSION}-bookworm-slim AS verify
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY server ./server
COPY client ./client
COPY migrations ./migrations
COPY knexfile.ts ./
RUN npx tsc --noEmit -p tsconfig.json && touch /app/.verified

# ---- runtime: no dev dependencies, no tests, non-root --------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data \
    LOG_LEVEL=info
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
# Building the runtime waits for the type check above (and fails with it).
COPY --from=verify /app/.verified ./.verified
COPY package.json package-lock.json tsconfig.json knexfile.ts ./
COPY server ./server
COPY client ./client
COPY migrations ./migrations
COPY docker/healthcheck.mjs ./docker/healthcheck.mjs
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
# /readyz: 200 while the database answers. A worker has no HTTP port; compose.yaml
# gives worker containers their own check (the worker's heartbeat row, see healthcheck.mjs).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 CMD ["node", "docker/healthcheck.mjs"]
# node itself is PID 1 and handles SIGTERM (server/main.ts): stop accepting, drain, exit 0.
ENTRYPOINT ["node", "--import", "tsx", "server/main.ts"]
CMD ["serve"]
