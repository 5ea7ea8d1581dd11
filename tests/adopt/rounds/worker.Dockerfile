FROM python:3.12-slim AS worker
WORKDIR /app
COPY shop ./shop
CMD ["python", "-m", "shop.worker"]
