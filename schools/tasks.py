"""The schools app's tasks: a teacher's sub-account request, the CSV import in the background,
and the beat tasks of the yearly review and of requests nobody decided. Each calls a
service; no logic lives here."""

from celery import shared_task

from portal.queue import PublicFormTask
from schools.services import import_jobs, review_cycle, sub_account_requests


# /apply/sub-account/ hands what was typed here, match or miss (public_requests.hand_off):
# like the accounts app's public form tasks, it never logs or raises with the values.
@shared_task(base=PublicFormTask)
def submit_sub_account_request_if_unit_matches(
    *, code, local_part, full_name, office, title, phone, email, stations, origin=None
):
    sub_account_requests.submit_sub_account_request(
        code=code,
        local_part=local_part,
        full_name=full_name,
        office=office,
        title=title,
        phone=phone,
        email=email,
        stations=stations,
        origin=origin,
    )


# acks_late (the default in settings): a worker killed mid-import leaves the message for
# redelivery; the beat task below does not wait for that.
@shared_task
def run_account_import(import_id):
    import_jobs.run_import(import_id)


@shared_task
def resume_account_imports():
    return import_jobs.resume_stalled_imports()


@shared_task
def advance_account_reviews():
    reminded = review_cycle.send_review_reminders()
    disabled = review_cycle.close_overdue_reviews()
    return {"reminded": reminded, "disabled": disabled}


@shared_task
def expire_sub_account_requests():
    return sub_account_requests.expire_sub_account_requests()
