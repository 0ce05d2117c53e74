# syntax=docker/dockerfile:1
# The API as an image: `docker build -t prior-auth-api .` (README, "Docker").
#
# Migrations are a separate step; the server never runs them. `npm run db:deploy` needs tsx, a dev
# dependency that the runtime image does not have, so run it from the build stage (which keeps
# every dev dependency) or from a CI job with the repository checked out, with the owner's URL:
#   docker build --target build -t prior-auth-api:build .
#   docker run --rm -e DIRECT_DATABASE_URL='postgresql://owner:…@host/db' prior-auth-api:build npm run db:deploy
# (Without NODE_ENV=production: db:deploy reads the whole config, which would then require the
# server's production variables too.)

FROM node:20-bookworm-slim AS build
WORKDIR /app
# npm ci's postinstall (node scripts/generate.mjs) generates the Prisma client and the Pothos types
# into src/generated/ from prisma/schema.prisma, so these come before npm ci (and cache it).
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
COPY scripts ./scripts
RUN npm ci
COPY . .
# tsc -p tsconfig.build.json: src/ → dist/, the generated client included (src/generated → dist/generated).
RUN npm run build

# Production dependencies only, in a stage of its own so that the build stage keeps tsx (above).
FROM build AS prod-deps
RUN npm prune --omit=dev --ignore-scripts

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000
WORKDIR /app
COPY --from=prod-deps /app/package.json ./package.json
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# dist/db/migrate.js reads ../../prisma/migrations, i.e. /app/prisma/migrations: /readyz compares
# the migrations the image was built with to those the database has applied.
COPY --from=build /app/prisma/migrations ./prisma/migrations
# GraphiQL's example operations (src/graphiql.ts reads ../docs/examples from dist/).
COPY --from=build /app/docs/examples ./docs/examples
USER node
EXPOSE 4000
# Liveness only (no database); slim images have no curl, so Node's fetch.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# A smaller old generation: RSS stays near 210-230 MB under load instead of 290-310 (docs/benchmarks.md).
CMD ["node", "--max-old-space-size=128", "dist/index.js"]
