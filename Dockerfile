# One image for every HyperFleet service; the command picks the program (see docker-compose.yml):
#   docker run hyperfleet:local /app/api.mjs      (the default)
# Programs: api, migrate, sentinel, adapter, kube-standin, credentials, provision (.mjs in /app).
#
# Two stages. The build stage installs the dependencies and compiles each program with esbuild
# (services/stack/build.ts --image): our TypeScript and the packages it uses, bundled into ES modules.
# The runtime stage gets only that output: the bundles, the adapters' YAML configs, and the one
# package that cannot be bundled (@google-cloud/pubsub, which reads its .proto files from its own
# directory) with its dependencies. No tsx, no esbuild, no PGlite, no TypeScript at run time: the build
# fails if a program would need one of them, and the API in the image always wants DATABASE_URL.
# Plain Dockerfile syntax (no BuildKit-only features), so docker-compose 1.29's classic builder builds it.

FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# esbuild and tsx are dependencies of the package, so --omit=dev is enough to build.
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY gen ./gen
COPY services ./services
RUN node --import tsx services/stack/build.ts --image /app

FROM node:24-bookworm-slim
# Nothing here runs npm, npx, corepack or yarn: without them the image has less to patch.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /opt/yarn-* /usr/local/bin/yarn /usr/local/bin/yarnpkg
WORKDIR /app
ENV NODE_ENV=production METADATA_SERVER_DETECTION=none
# Owned by root and not writable by the services, which run as node.
COPY --from=build /app /app
# Mount points of the credentials volumes (docker-compose.yml). A new named volume takes the owner and
# mode of the image's directory, so both are node's: the credentials service (node) writes them, and the
# other services, node too, read the 0600 tokens. /issuer holds the signing key: only that service mounts it.
RUN install -d -o node -g node -m 0755 /credentials && install -d -o node -g node -m 0700 /issuer
# node (uid 1000), numeric so that Kubernetes' runAsNonRoot can check it.
USER 1000:1000
# The same heap budget npm start gives each service (services/stack/processes.ts); raise it with the container limit.
ENV NODE_OPTIONS="--max-old-space-size=192 --max-semi-space-size=16"
# Two glibc malloc arenas instead of up to eight per core: 5-38 MB less peak RSS per service, no CPU cost
# measured (services/stack/processes.ts, MALLOC_ARENAS; docs/decisions/performance.md).
ENV MALLOC_ARENA_MAX=2
ENTRYPOINT ["node"]
CMD ["/app/api.mjs"]
