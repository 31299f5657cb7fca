# The hub image: one image for `hub web`, `hub worker` and `hub run`.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HUB_HOST=0.0.0.0
WORKDIR /app
COPY pyproject.toml README.md ./
COPY hub ./hub
COPY adapters ./adapters
COPY bots ./bots
COPY migrations ./migrations
COPY templates ./templates
RUN pip install --no-cache-dir . && useradd --create-home hub
USER hub
WORKDIR /home/hub
EXPOSE 8080
CMD ["hub", "run"]
