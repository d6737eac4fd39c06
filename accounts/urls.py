from django.urls import path

from accounts import captcha_views, views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/two-factor/", views.login_two_factor, name="login-two-factor"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("ckverifycode/<str:token>/", views.set_password, name="set-password"),
    path("verify/resend/", views.verify_resend, name="verify-resend"),
    path("password/forgot/", views.password_forgot, name="password-forgot"),
    path("password/forgot/code/", views.password_forgot_code, name="password-forgot-code"),
    path("account/lookup/", views.account_lookup, name="account-lookup"),
    path("me/", views.me, name="me"),
    path("me/password/", views.me_password, name="me-password"),
    path("me/email/", views.me_email, name="me-email"),
    path("me/two-factor/", views.me_two_factor, name="me-two-factor"),
    path("me/two-factor/recovery-codes/", views.me_two_factor_codes, name="me-two-factor-codes"),
    path("me/email/confirm/<str:token>/", views.email_confirm, name="email-confirm"),
    # Ahead of include("captcha.urls") in portal/urls.py, whose audio view is off.
    path("captcha/audio/<str:key>.wav", captcha_views.captcha_audio, name="captcha-audio"),
]

urlpatterns += [
    path("manage/accounts/", views.manage_accounts, name="manage-list"),
    path("manage/accounts/new/", views.manage_account_new, name="manage-new"),
    path("manage/accounts/export.csv", views.manage_accounts_export, name="manage-export"),
    path("manage/accounts/<str:username>/", views.manage_account, name="manage-account"),
    path("manage/transfer/", views.manage_transfer, name="manage-transfer"),
]

# The CSV import goes ahead of "manage/accounts/<username>/", which would take "import".
urlpatterns = [
    path("manage/accounts/import/", views.manage_import, name="manage-import"),
    path(
        "manage/accounts/import/template.csv",
        views.manage_import_template,
        name="manage-import-template",
    ),
    path("manage/accounts/import/result/", views.manage_import_result, name="manage-import-result"),
    path(
        "manage/accounts/import/failed.csv", views.manage_import_failed, name="manage-import-failed"
    ),
    *urlpatterns,
]
