"""Settings of the stand-in clinic project: the original's apps, user model, hashers and
knox, on a SQLite file named by ROYAL_CARE_DJANGO_DB."""
import os

SECRET_KEY = "test-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "knox",
    "core",
    "registration",
    "scheduling",
]
AUTH_USER_MODEL = "core.CustomUser"
# The original configured only BCryptSHA256; PBKDF2 is here so some users get it too.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("ROYAL_CARE_DJANGO_DB", "db.sqlite3"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
REST_FRAMEWORK = {"DEFAULT_AUTHENTICATION_CLASSES": ["knox.auth.TokenAuthentication"]}
