# One image for the operator (/operator) and the registrar pods (/registrar).
ARG BASE_IMAGE=golang:1.26
FROM ${BASE_IMAGE} AS builder
ARG TARGETOS
ARG TARGETARCH
WORKDIR /workspace
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY controllers/ controllers/
COPY internal/ internal/
COPY registrar/ registrar/
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -trimpath -o /out/operator ./cmd/operator && \
    CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -trimpath -o /out/registrar ./cmd/registrar

FROM gcr.io/distroless/static:nonroot
COPY --from=builder /out/operator /out/registrar /
USER 65532:65532
ENTRYPOINT ["/operator"]
