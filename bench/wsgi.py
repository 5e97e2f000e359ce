"""gunicorn target for the benchmarks: `gunicorn bench.wsgi:app`."""

from bench.reference import create_bench_app

app = create_bench_app()
