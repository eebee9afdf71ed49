"""Settings for RAM Console Lab, grouped by topic and read from the environment.

``development`` (the default of ``manage.py``) generates its secrets into ``var/``;
``production`` refuses to start without them; ``test`` is fast and deterministic.
"""
