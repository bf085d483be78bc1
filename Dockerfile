FROM python:3.11-slim
# Documents (PDF) embed a CJK font: without one they are refused, not printed as boxes.
RUN apt-get update && apt-get install -y --no-install-recommends fonts-noto-cjk fontconfig \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY ledger ledger
COPY projections projections
COPY audit audit
COPY documents documents
COPY api api
COPY entrypoints entrypoints
RUN pip install --no-cache-dir .
# Three volumes of their own: the embedded database (and the ID-hash key), the signing key
# (never inside the data directory, which the database server can read), and the
# append-only log of published checkpoints (outside the database, for auditors).
# The ledger's public key: docker run --rm -v <keys volume>:/keys <image> ledger audit key
ENV LEDGER_DATA_DIR=/data \
    LEDGER_SIGNING_KEY_FILE=/keys/signing.key \
    LEDGER_CHECKPOINT_LOG=/checkpoints/checkpoints.jsonl
VOLUME ["/data", "/keys", "/checkpoints"]
EXPOSE 8000
CMD ["ledger", "serve", "--host", "0.0.0.0", "--port", "8000", "--production"]
