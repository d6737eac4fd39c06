from django.contrib import admin

from schools.models import Unit


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "side"]
    list_filter = ["side"]
    search_fields = ["code", "name"]
