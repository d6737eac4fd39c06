"""Every change of state that matters to units and their administration, one module per use
case: units (import, lookup), applications (申請主帳號), sub_accounts (the holder creates and
grants), transfer (the main role), csv_import (sub-accounts from a file), consent_reminders
(催報)."""
