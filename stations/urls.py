from django.urls import path

from stations import views

app_name = "stations"

urlpatterns = [
    path("stations/<slug:slug>/", views.enter, name="enter"),
    path("stations/<slug:slug>/consent/", views.consent, name="consent"),
    path("me/stations/", views.my_stations, name="mine"),
]
