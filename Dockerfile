# syntax=docker/dockerfile:1
# The operator's image: `make image` (IMAGE=registry/name:tag). Two stages: the build stage
# compiles TypeScript with every dependency; the runtime stage holds only the compiled
# operator (dist/src) and the production dependencies, and runs as a non-root numeric user
# so that Kubernetes can enforce runAsNonRoot without a name lookup.
ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

FROM node:${NODE_VERSION}-bookworm AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:${NODE_VERSION}-bookworm-slim
LABEL org.opencontainers.image.title="build-namespace-operator" \
      org.opencontainers.image.description="Gives every tool of a shared cluster its own fenced image-build namespace" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production
WORKDIR /app
COPY package.json ./
COPY --from=production-dependencies /app/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
# 65532: the conventional "nonroot" uid/gid; the files stay root-owned and read-only to it.
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["run"]
