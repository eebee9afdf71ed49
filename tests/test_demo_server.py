"""The demo server (``make demo``: ``manage.py runserver``) takes a class joining at once: its
listen queue holds 128 connections, not Django's 10, while it serves static files as before."""
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.management import get_commands, load_command_class


def test_make_demos_runserver_is_staticfiles_with_a_deeper_listen_queue():
    assert get_commands()["runserver"] == "console"
    command = load_command_class("console", "runserver")
    assert command.server_cls.request_queue_size == 128
    assert isinstance(command.get_handler(use_static_handler=True, insecure_serving=True), StaticFilesHandler)
