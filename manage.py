#!/usr/bin/env python
"""Django's command-line utility for the product-update pipeline."""
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.DATABASES  # noqa: B018 -- loads the settings, which check DATABASE_URL
    except ImproperlyConfigured as exc:
        # A deployment's environment is wrong: one line that names the variable (the traceback on request).
        if "--traceback" in sys.argv:
            raise
        sys.stderr.write(f"{os.path.basename(sys.argv[0])}: {exc}\n")
        sys.exit(2)
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
