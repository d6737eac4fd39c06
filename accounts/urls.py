from django.urls import path

from accounts.views import (
    captcha_audio,
    own_account,
    public_forms,
    set_password,
    sign_in,
    two_factor,
)

app_name = "accounts"

urlpatterns = [
    path("login/", sign_in.login_view, name="login"),
    path("login/two-factor/", sign_in.login_two_factor, name="login-two-factor"),
    path("logout/", sign_in.LogoutView.as_view(), name="logout"),
    path("ckverifycode/<str:token>/", set_password.set_password, name="set-password"),
    path("verify/resend/", public_forms.verify_resend, name="verify-resend"),
    path("password/forgot/", public_forms.password_forgot, name="password-forgot"),
    path("password/forgot/code/", public_forms.password_forgot_code, name="password-forgot-code"),
    path("account/lookup/", public_forms.account_lookup, name="account-lookup"),
    path("me/", own_account.me, name="me"),
    path("me/password/", own_account.me_password, name="me-password"),
    path("me/email/", own_account.me_email, name="me-email"),
    path("me/two-factor/", two_factor.me_two_factor, name="me-two-factor"),
    path(
        "me/two-factor/recovery-codes/", two_factor.me_two_factor_codes, name="me-two-factor-codes"
    ),
    path("me/email/confirm/<str:token>/", own_account.email_confirm, name="email-confirm"),
    # Ahead of include("captcha.urls") in portal/urls.py, whose audio view is off.
    path("captcha/audio/<str:key>.wav", captcha_audio.captcha_audio, name="captcha-audio"),
]
