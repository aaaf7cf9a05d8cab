# syntax=docker/dockerfile:1

# Build: compile TypeScript to dist/ (the build script also copies src/redis/lua to dist/redis/lua
# and builds the operator console into dist/public/console).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY console ./console
RUN npm run build

# Runtime: production dependencies and the compiled service only.
FROM node:20-bookworm-slim AS runtime
# The outage spool: sends acknowledged while Redis is down wait there, synced to disk. Mount a
# volume at /spool to keep them across a recreated container (a restart keeps them anyway).
# WORKERS=auto: one worker per CPU core the container may use, at most 64 and no more than
# its CPU limit (cgroup v2 cpu.max, rounded up). Without a CPU limit that is every core of the
# host, each worker with its own heap within the container's memory: under an orchestrator,
# set WORKERS=1 to run one process per container and scale by containers instead.
ENV NODE_ENV=production \
    PORT=3000 \
    WORKERS=auto \
    OUTAGE_SPOOL_DIR=/spool
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY schema.gql ./
# Outside production the service rewrites schema.gql at start, so the non-root user owns /app
# (node_modules stays root-owned and read-only).
RUN mkdir -p /spool && chown node:node /app /app/schema.gql /spool
USER node
EXPOSE 3000
# The slim image has no curl; node is enough. Liveness never depends on Redis.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "require('http').get('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/live', (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))"]
CMD ["node", "dist/main.js"]
