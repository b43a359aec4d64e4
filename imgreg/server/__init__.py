"""How the app is served: the gunicorn worker and its head reader, the access log, request
ids in log lines, uWSGI input, the healthcheck."""
