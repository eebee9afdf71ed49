"""Routes of the training pages (namespace ``training``)."""
from django.urls import path

from . import views

app_name = "training"

urlpatterns = [
    path("start", views.start, name="start"),
    path("exercise", views.exercise_choose, name="exercise"),
    path("guide", views.guide_toggle, name="guide_toggle"),
    path("reset", views.reset_own_sandbox, name="reset"),
    path("certificate/<str:exercise_key>", views.certificate, name="certificate"),
    path("trainer", views.trainer, name="trainer"),
    path("trainer/board.json", views.trainer_board, name="trainer_board"),
    path("trainer/summary", views.trainer_summary, name="trainer_summary"),
    path("trainer/summary.csv", views.trainer_summary_csv, name="trainer_summary_csv"),
    path("demo/reset", views.demo_reset, name="demo_reset"),
]
