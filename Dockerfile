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
ENV LEDGER_DATA_DIR=/data
VOLUME /data
EXPOSE 8000
CMD ["ledger", "serve", "--host", "0.0.0.0", "--port", "8000", "--production"]
