"""Helpdesk opens the yearly account review, follows each unit and extends a unit's deadline,
and reads the sub-account requests (issue 18)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

PERMISSIONS = [
    "view_accountreview",
    "add_accountreview",
    "view_unitreview",
    "change_unitreview",
    "view_subaccountrequest",
]


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist now.
    app_config = apps.get_app_config("schools")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Helpdesk")
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="schools", codename__in=PERMISSIONS)
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="Helpdesk").first()
    if group is not None:
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="schools", codename__in=PERMISSIONS)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("schools", "0004_requests_reviews_and_background_imports"),
        ("accounts", "0002_helpdesk_group"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
