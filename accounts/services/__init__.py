"""Every change of state that matters in the accounts app, one module per flow. Each
function runs in one transaction, writes its security event and queues its mail after
commit (docs/architecture.md lists the flows and where each rule lives):

sign_in               password sign-in, the lockout, required actions at sign-in
two_factor_sign_in    the code step after the password
reauthentication      the password given again before a sensitive change
two_factor_setup      binding an authenticator, recovery codes, unbinding, helpdesk's reset
set_password          set-password links, storing a new password
new_accounts          pending accounts and a unit's main account
public_requests       how the public forms hand their work to Celery (and keep it)
verification_resend   補寄驗證信
password_reset        忘記密碼, by a code
account_lookup        忘記帳號
public_request_sweep  requests kept while the broker was down
profile_change        a profile's fields
password_change       a person's own password change
email_change          e-mail changes, by the person or for them
account_care          disable, enable, resend, unlock, reset (holder and helpdesk)
"""
