# Failover Operator container image.
#
#   docker build -t failover-operator:dev .
#
# Build stage: restore and publish the operator (framework-dependent, no apphost: it is started
# with `dotnet FailoverOperator.dll`, so the output is the same on every CPU architecture).
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
# Ubuntu chiseled ASP.NET Core runtime: no shell, no package manager, just what .NET needs.
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled

FROM ${SDK_IMAGE} AS build
WORKDIR /source
# .dockerignore keeps bin/obj, tests, .git and local state out of the context.
COPY . .
RUN dotnet restore src/FailoverOperator/FailoverOperator.csproj
RUN dotnet publish src/FailoverOperator/FailoverOperator.csproj \
      --configuration Release --no-restore \
      --output /app \
      -p:UseAppHost=false \
    && test -f /app/FailoverOperator.dll

# Runtime stage: only the published app, owned by root and read-only to the process.
FROM ${RUNTIME_IMAGE} AS runtime
WORKDIR /app
COPY --from=build /app ./
# Same non-root UID/GID the Helm chart enforces (runAsUser 65532).
USER 65532:65532
# UID 65532 has no home directory in the image; keep .NET's per-user files under /tmp
# (an emptyDir in the Helm chart, whose root filesystem is read-only).
ENV HOME=/tmp \
    TMPDIR=/tmp
# 8080: /metrics (--metrics-port), 8081: /healthz and /readyz (--health-port).
EXPOSE 8080 8081
ENTRYPOINT ["dotnet", "FailoverOperator.dll"]
