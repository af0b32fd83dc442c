# One image for every HyperFleet service; the command picks the service (see docker-compose.yml).
FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production METADATA_SERVER_DETECTION=none
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY gen ./gen
COPY services ./services
COPY tsconfig.json ./
# Mount points of the credentials volumes (docker-compose.yml). A new named volume takes the owner and
# mode of the image's directory, so both are node's: the credentials service (node) writes them, and the
# other services, node too, read the 0600 tokens. /issuer holds the signing key: only that service mounts it.
RUN install -d -o node -g node -m 0755 /credentials && install -d -o node -g node -m 0700 /issuer
USER node
# The same heap budget npm start gives each service (services/stack/processes.ts); raise it with the container limit.
ENV NODE_OPTIONS="--max-old-space-size=192 --max-semi-space-size=16"
ENTRYPOINT ["node", "--import", "tsx"]
CMD ["services/api/main.ts"]
