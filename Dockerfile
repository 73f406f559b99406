# podman-tracker worker image: hosts the job workflows and the Podman activities.
# It drives the Podman of the host whose API socket is mounted at CONTAINER_HOST
# (see docker-compose.yml); it runs no containers of its own.

# ---- build: compile TypeScript and bundle the workflows -------------------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
# Lockfile first, so that a source change does not redo the install.
COPY package.json package-lock.json ./
# --ignore-scripts: the project's own npm (11) skips dependency install scripts unless
# approved, and the Temporal worker needs none of them; node:20 ships npm 10, which
# would run them (and try to compile ssh2's optional native addon without a compiler).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
# dist/worker/main.js (the entry point) and dist/workflow-bundle.js (the prebuilt workflow
# bundle the worker loads instead of bundling the workflow sources at start).
RUN npm run build

# ---- runtime: production dependencies and the build output only -----------------
FROM node:20-bookworm-slim AS runtime
LABEL org.opencontainers.image.title="podman-tracker worker" \
      org.opencontainers.image.description="DRMAA2 jobs as Podman containers, made durable by Temporal" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The application files stay root-owned and read-only to the process.
USER node
# Temporal's Worker shuts down on SIGTERM by itself: it stops polling and gives running
# activities PODMAN_TRACKER_SHUTDOWN_GRACE_MS to finish. Keep the orchestrator's stop
# timeout (compose: stop_grace_period) above that grace time.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/worker/main.js"]
