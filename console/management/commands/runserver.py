"""``runserver`` (what ``make demo`` serves with), as staticfiles' own, with a deeper listen queue.

Django's development server listens with a queue of 10 connections: a class of 40 trainees behind
one address joining at the same instant (issue 19, a class on the demo server) saw some of their
connections reset before the server accepted them. 128 waits for them; nothing else changes.
"""
from django.contrib.staticfiles.management.commands.runserver import Command as StaticfilesRunserver
from django.core.servers.basehttp import WSGIServer


class DemoWSGIServer(WSGIServer):
    request_queue_size = 128


class Command(StaticfilesRunserver):
    server_cls = DemoWSGIServer
