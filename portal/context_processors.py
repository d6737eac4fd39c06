from django.conf import settings


def portal(request):
    return {
        "platform_name": settings.PLATFORM_NAME,
        "helpdesk_phone": settings.HELPDESK_PHONE,
        "helpdesk_email": settings.HELPDESK_EMAIL,
        "passkeys_available": settings.PASSKEYS_AVAILABLE,
    }
