"""The original's user model (table core_customuser), with the columns the facts file lists."""
from django.contrib.auth.models import AbstractUser
from django.db import models


class CustomUser(AbstractUser):
    ROLES = [("operator", "Operator"), ("therapist", "Therapist"), ("driver", "Driver")]
    PRESSURES = [("soft", "Soft"), ("moderate", "Moderate"), ("hard", "Hard")]

    role = models.CharField(max_length=20, choices=ROLES, blank=True)
    specialization = models.CharField(max_length=100, blank=True, null=True)
    massage_pressure = models.CharField(max_length=20, choices=PRESSURES, blank=True, null=True)
    license_number = models.CharField(max_length=50, blank=True, null=True)
    motorcycle_plate = models.CharField(max_length=20, blank=True, null=True)
    phone_number = models.CharField(max_length=20, default="N/A")
    failed_login_attempts = models.IntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    email_verified = models.BooleanField(default=False)
    verification_code = models.CharField(max_length=6, null=True, blank=True)
    two_factor_enabled = models.BooleanField(default=False)
    last_available_at = models.DateTimeField(null=True, blank=True)
    profile_photo_url = models.URLField(null=True, blank=True)
