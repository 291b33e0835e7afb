"""`manage.py seed`: the clinic's data as the original made it, through its own models,
hashers and knox (real hashes, real tokens); prints as JSON what tests/import_django.rs
checks after the import: each login's password, each token, and the ids."""
import json
from datetime import date, time, timedelta
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.utils import timezone
from knox.models import AuthToken

from core.models import CustomUser
from registration.models import Service
from scheduling.models import Appointment, Availability, Client, Notification


def user(username, role, password, hasher=None, **fields):
    u = CustomUser(username=username, role=role, email=f"{username}@clinic.example", **fields)
    if password is None:
        u.set_unusable_password()
    elif hasher:
        u.password = make_password(password, hasher=hasher)
    else:
        u.set_password(password)  # the first configured hasher: bcrypt_sha256
    u.save()
    return u


class Command(BaseCommand):
    def handle(self, *args, **options):
        out = {"passwords": {}, "tokens": {}, "ids": {}}

        def staff(username, role, password, hasher=None, **fields):
            u = user(username, role, password, hasher, **fields)
            if password:
                out["passwords"][username] = password
            out["ids"][username] = u.id
            return u

        op = staff("op.anna", "operator", "Anna-Op-pass1", first_name="Anna", last_name="Cruz")
        admin = staff("admin", "", "Admin-pass-99", hasher="pbkdf2_sha256", is_superuser=True, is_staff=True)
        th1 = staff(
            "th.ben", "therapist", "Ben-Th-pass1", first_name="Ben", last_name="Reyes",
            specialization="Shiatsu", massage_pressure="moderate", phone_number="+63 917 555 0101",
        )
        th2 = staff("th.cara", "therapist", "Cara-Th-pass1", hasher="pbkdf2_sha256", first_name="Cara")
        dr = staff(
            "dr.dan", "driver", "Dan-Dr-pass1", first_name="Dan",
            license_number="N01-23-456789", motorcycle_plate="ABC 1234",
        )
        # Hashes the import cannot verify: another algorithm, and Django's unusable mark.
        staff("th.argon", "therapist", None)
        CustomUser.objects.filter(username="th.argon").update(
            password="argon2$argon2id$v=19$m=102400,t=2,p=8$c29tZXNhbHQ$AAAAAAAAAAAAAAAAAAAAAA"
        )
        staff("dr.nopass", "driver", None)
        staff("th.gone", "therapist", "Gone-Th-pass1", is_active=False)

        # Real knox tokens (AuthToken.objects.create returns the token shown once).
        out["tokens"]["op.anna"] = AuthToken.objects.create(op)[1]
        out["tokens"]["th.ben"] = AuthToken.objects.create(th1)[1]
        out["tokens"]["dr.dan"] = AuthToken.objects.create(dr, expiry=None)[1]  # never expires
        out["tokens"]["expired"] = AuthToken.objects.create(th2, expiry=timedelta(hours=-1))[1]

        # A deleted first row, so kept ids are visible (they do not start at 1).
        Client.objects.create(first_name="Deleted", last_name="X", phone_number="0", address="x").delete()
        c1 = Client.objects.create(first_name="Maria", last_name="Santos", phone_number="0917 000 1111",
                                   address="12 Mabini St", email=None)
        c2 = Client.objects.create(first_name="Jose", last_name="Lim", phone_number="0917 000 2222",
                                   address="3 Rizal Ave", email="jose@example.com", notes="Gate code 44")
        swedish = Service.objects.create(name="Swedish", description="Full body", duration=60,
                                         price=Decimal("1500.00"), oil="lavender")
        hot = Service.objects.create(name="Hot stone", description="", duration=90, price=Decimal("999.99"))
        out["ids"].update(client1=c1.id, client2=c2.id, swedish=swedish.id, hot_stone=hot.id)

        day = date.today() + timedelta(days=1)
        now = timezone.now()

        def appt(status, lead, therapists, services, **fields):
            a = Appointment.objects.create(
                client=fields.pop("client", c1), therapist=lead, driver=fields.pop("driver", dr), operator=op,
                date=day, start_time=fields.pop("start", time(10, 0)), end_time=fields.pop("end", time(11, 0)),
                status=status, location="12 Mabini St", **fields,
            )
            a.therapists.set(therapists)
            a.services.set(services)
            return a

        pending = appt("pending", th1, [th1], [swedish], payment_status="unpaid", notes="First visit")
        group = appt("driver_confirmed", th1, [th1, th2], [swedish, hot], client=c2, group_size=2,
                     requires_car=True, payment_status="partial", payment_amount=Decimal("500.00"),
                     start=time(13, 0), end=time(14, 30), therapist_confirmed_at=now, driver_confirmed_at=now)
        legacy = appt("driving_to_location", th2, [th2], [hot], start=time(15, 0), end=time(16, 30),
                      therapist_confirmed_at=now, journey_started_at=now)
        paid = appt("completed", th1, [th1], [swedish], start=time(17, 0), end=time(18, 0),
                    payment_status="paid", payment_amount=Decimal("1500.00"), payment_method="gcash",
                    session_started_at=now, payment_initiated_at=now, payment_verified_at=now)
        out["ids"].update(pending=pending.id, group=group.id, legacy=legacy.id, paid=paid.id)

        Availability.objects.create(user=th1, date=day, start_time=time(9, 0), end_time=time(17, 0))
        Availability.objects.create(user=th1, date=day, start_time=time(22, 0), end_time=time(2, 0))
        Notification.objects.create(user=th1, appointment=pending, notification_type="appointment_created",
                                    message="New appointment for Maria Santos")
        self.stdout.write(json.dumps(out))
