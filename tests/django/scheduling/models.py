"""The original's scheduling tables: scheduling_client, scheduling_appointment (+ its
therapists and services M2M tables), scheduling_availability, scheduling_notification."""
from django.conf import settings
from django.db import models

User = settings.AUTH_USER_MODEL


class Client(models.Model):
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    email = models.EmailField(null=True, blank=True)
    phone_number = models.CharField(max_length=20)
    address = models.TextField()
    notes = models.TextField(blank=True, null=True)
    created_at = models.DateTimeField(auto_now_add=True)


class Appointment(models.Model):
    client = models.ForeignKey(Client, on_delete=models.CASCADE)
    therapist = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    therapists = models.ManyToManyField(User, blank=True, related_name="group_appointments")
    driver = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    operator = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    services = models.ManyToManyField("registration.Service")
    date = models.DateField()
    start_time = models.TimeField()
    end_time = models.TimeField()
    status = models.CharField(max_length=30, default="pending")
    payment_status = models.CharField(max_length=20, default="unpaid")
    payment_method = models.CharField(max_length=20, blank=True, default="cash")
    payment_amount = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    location = models.TextField()
    notes = models.TextField(blank=True, null=True)
    required_materials = models.TextField(blank=True, null=True)
    pickup_requested = models.BooleanField(default=False)
    pickup_request_time = models.DateTimeField(null=True, blank=True)
    pickup_urgency = models.CharField(max_length=10, default="normal")
    pickup_notes = models.TextField(blank=True, null=True)
    estimated_pickup_time = models.DateTimeField(null=True, blank=True)
    pickup_confirmed_at = models.DateTimeField(null=True, blank=True)
    pickup_driver = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    rejection_reason = models.TextField(blank=True, null=True)
    rejected_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    rejected_at = models.DateTimeField(null=True, blank=True)
    response_deadline = models.DateTimeField(null=True, blank=True)
    auto_cancelled_at = models.DateTimeField(null=True, blank=True)
    therapist_accepted = models.BooleanField(default=False)
    therapist_accepted_at = models.DateTimeField(null=True, blank=True)
    driver_accepted = models.BooleanField(default=False)
    driver_accepted_at = models.DateTimeField(null=True, blank=True)
    therapist_confirmed_at = models.DateTimeField(null=True, blank=True)
    driver_confirmed_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    journey_started_at = models.DateTimeField(null=True, blank=True)
    arrived_at = models.DateTimeField(null=True, blank=True)
    session_started_at = models.DateTimeField(null=True, blank=True)
    session_end_time = models.DateTimeField(null=True, blank=True)
    payment_initiated_at = models.DateTimeField(null=True, blank=True)
    payment_verified_at = models.DateTimeField(null=True, blank=True)
    return_journey_completed_at = models.DateTimeField(null=True, blank=True)
    requires_car = models.BooleanField(default=False)
    group_confirmation_complete = models.BooleanField(default=False)
    group_size = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)


class Availability(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE)
    date = models.DateField()
    start_time = models.TimeField()
    end_time = models.TimeField()
    is_available = models.BooleanField(default=True)

    class Meta:
        unique_together = ("user", "date", "start_time", "end_time")


class Notification(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE)
    appointment = models.ForeignKey(Appointment, null=True, blank=True, on_delete=models.CASCADE)
    notification_type = models.CharField(max_length=30)
    message = models.TextField()
    is_read = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    rejection = models.IntegerField(null=True, blank=True, db_column="rejection_id")
