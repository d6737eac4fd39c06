from django.conf import settings
from django.utils.translation import gettext as _


def portal(request):
    return {
        "platform_name": settings.PLATFORM_NAME,
        "helpdesk_phone": settings.HELPDESK_PHONE,
        "helpdesk_email": settings.HELPDESK_EMAIL,
        "passkeys_available": settings.PASSKEYS_AVAILABLE,
        # Punctuation is the language's: "登入｜平臺" but "Sign in | Platform".
        "title_separator": _("｜"),
        "list_separator": _("、"),
    }
