# syntax=docker/dockerfile:1
# Quilt's image (README, "Deployment"). Three stages:
# - build: every dependency, then the TypeScript sources compiled to dist/ (tsconfig.build.json),
#   so the running process loads plain JavaScript and needs no compiler and no writable cache;
# - deps: only the runtime dependencies (`npm ci --omit=dev`);
# - runtime: Node 20 on Debian slim (glibc; grpc-js, undici and ioredis are pure JavaScript,
#   so nothing is compiled), non-root, the schemas folder a volume.
# Build: docker build -t quilt:0.5.0 .
# Run:   docker run -p 4000:4000 -v "$PWD/schemas:/app/schemas:ro" quilt:0.5.0 [flags]

FROM node:20-bookworm-slim AS build
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    QUILT_SCHEMAS=/app/schemas \
    QUILT_HOST=0.0.0.0 \
    QUILT_PORT=4000
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /build/dist ./dist
COPY package.json ./
COPY bin ./bin
# The image's files belong to root and cannot be changed by the process; the schemas folder is
# the operator's (a bind mount, a volume, a Kubernetes ConfigMap), read through the watcher.
RUN mkdir -p /app/schemas && chown node:node /app/schemas
# The node image's unprivileged user (uid 1000).
USER node
VOLUME ["/app/schemas"]
EXPOSE 4000
# No curl in the slim image: Node asks /healthz (process alive; /readyz is for balancers, see
# deploy/kubernetes/quilt-deployment.yaml), over HTTPS when QUILT_TLS_CERT is set (its own
# certificate need not name 127.0.0.1, so it is not verified for this local check).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const tls = Boolean(process.env.QUILT_TLS_CERT); require(tls ? 'node:https' : 'node:http').get({ host: '127.0.0.1', port: process.env.QUILT_PORT || 4000, path: '/healthz', rejectUnauthorized: false }, (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))"]
# Node is PID 1 and handles SIGTERM itself: stop accepting, finish in flight, exit 0.
ENTRYPOINT ["node", "bin/quilt.js", "serve"]
