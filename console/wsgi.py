"""WSGI entry point (gunicorn console.wsgi)."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings.development")
application = get_wsgi_application()
