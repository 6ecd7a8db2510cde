# syntax=docker/dockerfile:1
# The images of the production-like stack (docker-compose.yml), built from source like `npm run stack` builds
# natively: the Temporal server, its SQL tool and the UI with `go install` (no prebuilt binaries), the project
# (worker, lab simulators, codec server, certificate job) on Node 20. Targets: temporal, temporal-ui, app.

FROM golang:1.25-bookworm AS go-build
ENV CGO_ENABLED=0 GOTOOLCHAIN=local
RUN GOBIN=/out/temporal go install go.temporal.io/server/cmd/tools/sql@v1.29.1 \
 && GOBIN=/out/ui go install github.com/temporalio/ui-server/v2/cmd/server@v2.42.1
# The server: v1.29.1 with the stack's claim mapper (the worker known by its certificate), as natively.
COPY stack/server /src/stack-server
RUN cd /src/stack-server && go build -o /out/temporal/server .

# One image for every Temporal service (frontend, history, matching, worker) and the schema job.
FROM debian:bookworm-slim AS temporal
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 1000 temporal
COPY --from=go-build /out/temporal/server /out/temporal/sql /usr/local/bin/
COPY stack/config/temporal.yaml /etc/temporal/config/stack.yaml
COPY stack/config/dynamicconfig/stack.yaml /etc/temporal/config/dynamicconfig/stack.yaml
COPY stack/docker/temporal-entrypoint.sh stack/docker/temporal-schema.sh /usr/local/bin/
USER temporal
WORKDIR /etc/temporal
ENTRYPOINT ["temporal-entrypoint.sh"]

FROM debian:bookworm-slim AS temporal-ui
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 1000 temporal
COPY --from=go-build /out/ui/server /usr/local/bin/temporal-ui-server
COPY stack/config/ui.yaml /etc/temporal-ui/config/stack.yaml
USER temporal
WORKDIR /etc/temporal-ui
ENTRYPOINT ["temporal-ui-server", "--root", "/etc/temporal-ui", "--config", "config", "--env", "stack", "start"]

# The project: worker, lab simulators, codec server, and the certificate job (openssl, stack/pki.ts).
FROM node:20-bookworm-slim AS app
RUN apt-get update && apt-get install -y --no-install-recommends openssl ca-certificates openssh-client sqlite3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY . .
ENTRYPOINT ["node", "--import", "tsx"]
