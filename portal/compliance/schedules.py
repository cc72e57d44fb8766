"""The project's schedules for django-celery-beat, registered idempotently by data migrations
(compliance 0005, 0006) and by `manage.py schedules_register` (models are passed in, so a
migration can use its own). Most are compliance work; the API's stored responses are here too,
since expiring them is a matter of how long data is kept."""

INTERVALS = {
    # name: (task, every minutes)
    "compliance: sweep new data against orders in force": ("compliance.orders_sweep", 15),
    "compliance: purge probes past retention": ("compliance.probes_purge", 60),
    "api: expire stored idempotent responses": ("api.idempotency_records_expire", 60),
}
CRONTABS = {
    # name: (task, minute, hour)
    "compliance: warn before order deadlines": ("compliance.order_deadlines_warn", "0", "7"),
    "compliance: vacuum and reindex the face index after large deletions": ("compliance.face_index_maintain", "30", "3"),
    "compliance: delete files no row refers to": ("compliance.files_orphaned_delete", "0", "4"),
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
