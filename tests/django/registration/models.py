"""The original's services (table registration_service)."""
from django.db import models


class Service(models.Model):
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    duration = models.IntegerField(help_text="minutes")
    price = models.DecimalField(max_digits=10, decimal_places=2)
    oil = models.CharField(max_length=100, blank=True, null=True)
    is_active = models.BooleanField(default=True)
