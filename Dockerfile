# The API as an image: `docker build -t prior-auth-api .` (README, "Docker"). Without an image
# registry, build the two base images first (scripts/docker-base-images.sh) and name them:
#   docker build --build-arg NODE_IMAGE=prior-auth-base/node:20 \
#     --build-arg RUNTIME_IMAGE=prior-auth-base/debian:bookworm -t prior-auth-api .
#
# Migrations are a separate step; the server never runs them. `npm run db:deploy` needs tsx, a dev
# dependency that the runtime image does not have, so run it from the build stage (which keeps
# every dev dependency) or from a CI job with the repository checked out, with the owner's URL:
#   docker build --target build -t prior-auth-api:build .
#   docker run --rm -e DIRECT_DATABASE_URL='postgresql://owner:…@host/db' prior-auth-api:build npm run db:deploy
# (Without NODE_ENV=production: db:deploy reads the whole config, which would then require the
# server's production variables too.)

# Node 20 with npm, to build; the runtime image needs only Debian (it gets the node binary alone).
ARG NODE_IMAGE=node:20-bookworm-slim
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# npm ci's postinstall (node scripts/generate.mjs) generates the Prisma client and the Pothos types
# into src/generated/ from prisma/schema.prisma, so these come before npm ci (and cache it).
# .npmrc: how peer dependencies are installed (it explains why).
COPY package.json package-lock.json .npmrc prisma.config.ts ./
COPY prisma ./prisma
COPY scripts ./scripts
RUN npm ci
COPY . .
# tsc -p tsconfig.build.json: src/ → dist/, the generated client included (src/generated → dist/generated).
RUN npm run build

# Production dependencies only, installed as tests/integration/production-install.test.ts checks
# (no Prisma CLI, TypeScript or embedded PostgreSQL), in a stage of its own so that the build stage
# keeps tsx (above). The generated client needs no install script: it is compiled into dist/.
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# No npm, no build tools: Debian, the node binary, the server and its production dependencies.
FROM ${RUNTIME_IMAGE} AS runtime
# MALLOC_ARENA_MAX: glibc's malloc keeps up to 8 arenas per core, and the few threads node's
# libraries use spread their allocations over several: peak RSS under load 178–213 MB without it,
# 166–201 MB with 2, five runs each (docs/operations.md, "Memory").
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    MALLOC_ARENA_MAX=2
COPY --from=build /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
COPY --from=prod-deps /app/package.json ./package.json
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# dist/db/migrate.js reads ../../prisma/migrations, i.e. /app/prisma/migrations: /readyz compares
# the migrations the image was built with to those the database has applied.
COPY --from=build /app/prisma/migrations ./prisma/migrations
# GraphiQL's example operations (src/graphiql.ts reads ../docs/examples from dist/).
COPY --from=build /app/docs/examples ./docs/examples
# The `node` user of the official node images, by number: a plain Debian image has no such name.
USER 1000:1000
EXPOSE 4000
# Liveness only (no database); slim images have no curl, so Node's fetch.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# A smaller old generation: RSS stays near 210-230 MB under load instead of 290-310 (docs/benchmarks.md).
CMD ["node", "--max-old-space-size=128", "dist/index.js"]
