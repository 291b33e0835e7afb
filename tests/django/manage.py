#!/usr/bin/env python3
"""The stand-in for the clinic's Django project (tests/import_django.rs runs it)."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
