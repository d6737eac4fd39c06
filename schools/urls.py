from django.urls import path

from schools import views

app_name = "schools"

urlpatterns = [
    path("infosearch/", views.holder_lookup, name="holder-lookup"),
    path("apply/", views.apply, name="apply"),
    path("qa/", views.qa, name="qa"),
]
