"""The compliance schedules for django-celery-beat, registered idempotently by a data migration
and by `manage.py schedules_register` (models are passed in, so the migration can use its own)."""

INTERVALS = {
    # name: (task, every minutes)
    "compliance: sweep new data against orders in force": ("compliance.orders_sweep", 15),
    "compliance: purge probes past retention": ("compliance.probes_purge", 60),
}
CRONTABS = {
    # name: (task, minute, hour)
    "compliance: warn before order deadlines": ("compliance.order_deadlines_warn", "0", "7"),
    "compliance: vacuum and reindex the face index after large deletions": ("compliance.face_index_maintain", "30", "3"),
}


def schedules_register(*, IntervalSchedule, CrontabSchedule, PeriodicTask) -> list[str]:
    registered = []
    for name, (task, minutes) in INTERVALS.items():
        every, _ = IntervalSchedule.objects.get_or_create(every=minutes, period="minutes")
        PeriodicTask.objects.update_or_create(name=name, defaults={"task": task, "interval": every, "crontab": None,
                                                                   "enabled": True})
        registered.append(name)
    for name, (task, minute, hour) in CRONTABS.items():
        crontab, _ = CrontabSchedule.objects.get_or_create(minute=minute, hour=hour, day_of_week="*",
                                                           day_of_month="*", month_of_year="*", timezone="UTC")
        PeriodicTask.objects.update_or_create(name=name, defaults={"task": task, "crontab": crontab, "interval": None,
                                                                   "enabled": True})
        registered.append(name)
    return registered
