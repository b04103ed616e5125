FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY smarketing smarketing
COPY leads leads
COPY scoring scoring
COPY sla sla
COPY dashboards dashboards
COPY bench bench
RUN pip install .
COPY . .

# Static files are collected at build time and served by WhiteNoise.
RUN DJANGO_DEBUG=0 SECRET_KEY=collectstatic-only ALLOWED_HOSTS=localhost python manage.py collectstatic --noinput

RUN useradd --create-home smarketing && mkdir -p /app/var/media && chown -R smarketing /app/var
USER smarketing
EXPOSE 8000
CMD ["gunicorn", "smarketing.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
