from django.urls import path

app_name = "schools"

urlpatterns: list = [
    # Guest pages of SPEC section 7 (holder lookup, application, Q&A) are added here.
]
