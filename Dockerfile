# podman-tracker worker image: hosts the job workflows and the Podman activities.
# It drives the Podman of the host whose API socket is mounted at CONTAINER_HOST
# (see docker-compose.yml); it runs no containers of its own.

# ---- build: compile TypeScript, bundle the workflows, pack the npm package ---------
FROM node:24-bookworm-slim AS build
WORKDIR /app
# Lockfile first, so that a source change does not redo the install.
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency needs its install script (ssh2's only compiles an optional
# native addon, for which the slim image has no compiler); npm 11 skips unapproved ones anyway.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
# The package as npm publishes it (npm pack builds first: dist/ with the prebuilt workflow
# bundle that the worker loads instead of bundling the workflow sources at start).
RUN npm pack --pack-destination /tmp && mv /tmp/podman-tracker-*.tgz /tmp/podman-tracker.tgz

# ---- runtime: the package installed as a user installs it -----------------------
FROM node:24-bookworm-slim AS runtime
LABEL org.opencontainers.image.title="podman-tracker worker" \
      org.opencontainers.image.description="DRMAA2 jobs as Podman containers, made durable by Temporal" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production
COPY --from=build /tmp/podman-tracker.tgz /tmp/
# Its production dependencies and the @temporalio/* peers, and nothing of the sources or tests.
# (npm ci --omit=dev would leave the peers out: the lockfile counts them as dev dependencies.)
RUN npm install --global --omit=dev --ignore-scripts --no-audit --no-fund /tmp/podman-tracker.tgz \
 && rm /tmp/podman-tracker.tgz && npm cache clean --force
# The application files stay root-owned and read-only to the process.
USER node
WORKDIR /home/node
# Temporal's Worker shuts down on SIGTERM by itself: it stops polling and gives running
# activities PODMAN_TRACKER_SHUTDOWN_GRACE_MS to finish. Keep the orchestrator's stop
# timeout (compose: stop_grace_period) above that grace time.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/usr/local/lib/node_modules/podman-tracker/dist/worker/main.js"]
