# syntax=docker/dockerfile:1
# The job service as an image: build with tsc, run the compiled JavaScript with production dependencies only.
#   docker build -t job-service .
#   docker run --rm -p 8080:8080 -e API_TOKEN=<a secret of 16+ characters> job-service
# Node 22 is a maintained LTS line (Node 20 reaches end of life in April 2026); package.json needs >= 20.19.
ARG NODE_IMAGE=node:22-bookworm-slim

# --- build: every dependency, then `npm run build` (tsc -p tsconfig.build.json → dist/) ---
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
# Everything the build may use (sources, tsconfig files, static assets); .dockerignore keeps out the rest.
COPY . .
RUN npm run build

# --- production dependencies: better-sqlite3 is a native addon, built here with a toolchain the runtime
# image does not carry (when no prebuilt binary fits) ---
FROM ${NODE_IMAGE} AS deps
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

# --- runtime: production dependencies and the compiled output, nothing else ---
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The job database (STORE=sqlite:./data/jobs.db) lives in a volume the unprivileged `node` user owns; every
# other file stays root-owned and read-only to it.
RUN mkdir -p /app/data && chown node:node /app/data
VOLUME ["/app/data"]
USER node
ENV WORKERS=4 QUEUE_SIZE=64
# All interfaces, since a published port reaches the container on its own network interface, not on its
# loopback. The service then refuses to start without an access token (API_TOKEN or AUTH_TOKENS_FILE), or
# ALLOW_UNAUTHENTICATED=true to say an open service is intended: see the README's Security section.
ENV HOST=0.0.0.0
EXPOSE 8080
# Slim images have no curl; Node's own fetch does the probe.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))"]
# node itself is the command (no npm or shell wrapper), so SIGTERM from `docker stop` reaches the service and
# starts the graceful shutdown. Give `docker stop -t` more than SHUTDOWN_TIMEOUT_MS (30 s by default).
CMD ["node", "dist/src/main.js"]
