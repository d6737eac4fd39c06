from django.contrib.auth.management import create_permissions
from django.db import migrations

HELPDESK_PERMISSIONS = [
    ("accounts", "view_account"),
    ("accounts", "change_account"),
    ("accounts", "unlock_account"),
    ("accounts", "view_outboundemail"),
    ("accounts", "resend_outboundemail"),
    ("accounts", "view_securityevent"),
    ("schools", "view_unit"),
]


def create_helpdesk_group(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Helpdesk")
    for app_label, codename in HELPDESK_PERMISSIONS:
        group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def remove_helpdesk_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Helpdesk").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("schools", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_helpdesk_group, remove_helpdesk_group)]
