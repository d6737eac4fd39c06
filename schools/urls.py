from django.urls import path

from schools.views import (
    account_list,
    account_pages,
    consent,
    csv_import,
    guest,
    requests,
    review,
    transfer,
)

app_name = "schools"

urlpatterns = [
    path("infosearch/", guest.holder_lookup, name="holder-lookup"),
    path("apply/", guest.apply, name="apply"),
    path("apply/sub-account/", guest.apply_sub_account, name="apply-sub-account"),
    path("qa/", guest.qa, name="qa"),
    # The holder's pages (SPEC section 6). The CSV import goes ahead of
    # "manage/accounts/<username>/", which would take "import".
    path("manage/accounts/import/", csv_import.manage_import, name="manage-import"),
    path(
        "manage/accounts/import/template.csv",
        csv_import.manage_import_template,
        name="manage-import-template",
    ),
    path(
        "manage/accounts/import/result/",
        csv_import.manage_import_result,
        name="manage-import-result",
    ),
    path(
        "manage/accounts/import/failed.csv",
        csv_import.manage_import_failed,
        name="manage-import-failed",
    ),
    path(
        "manage/accounts/import/<int:import_id>/",
        csv_import.manage_import_job,
        name="manage-import-job",
    ),
    path(
        "manage/accounts/import/<int:import_id>/progress/",
        csv_import.manage_import_progress,
        name="manage-import-progress",
    ),
    path(
        "manage/accounts/import/<int:import_id>/failed.csv",
        csv_import.manage_import_job_failed,
        name="manage-import-job-failed",
    ),
    path("manage/accounts/", account_list.manage_accounts, name="manage-list"),
    path("manage/accounts/new/", account_pages.manage_account_new, name="manage-new"),
    path("manage/accounts/export.csv", account_list.manage_accounts_export, name="manage-export"),
    path("manage/accounts/<str:username>/", account_pages.manage_account, name="manage-account"),
    path("manage/requests/", requests.manage_requests, name="manage-requests"),
    path("manage/review/", review.manage_review, name="manage-review"),
    path("manage/transfer/", transfer.manage_transfer, name="manage-transfer"),
    path("manage/stations/", consent.manage_stations, name="manage-stations"),
]
